//! The notifications of a grant, read back from the outbox (the users' inbox): the welcome email, the
//! access email, doorcodes by email or SMS by the spec's rules, and silence when `shouldNotify` is false.

use latchkey::model::{Channel, MessageKind, OutboxMessage, PasscodeType, Role};

use crate::support::{Contact, World, access, daily, doorcodes_in, permanent};

fn kinds(messages: &[OutboxMessage]) -> Vec<(Channel, MessageKind)> {
    messages.iter().map(|m| (m.channel, m.kind)).collect()
}

#[tokio::test]
async fn a_new_user_with_an_email_gets_one_welcome_email_with_the_codes() {
    let world = World::start().await;
    let d = &world.p.doors;
    let view = world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby, &d.gym, &d.unit_4b], world.now()))
        .await
        .expect("grant");
    let messages = world.outbox().await;
    assert_eq!(kinds(&messages), [(Channel::Email, MessageKind::Welcome)], "{messages:?}");
    let welcome = &messages[0];
    assert_eq!(welcome.recipient, "grace@example.com");
    assert_eq!(welcome.sent_at, world.now());
    assert!(welcome.content.contains(&world.p.a.name), "names the partner: {}", welcome.content);
    assert!(welcome.content.contains(&view.user_uuid), "links the account: {}", welcome.content);
    for door in [&d.lobby, &d.gym, &d.unit_4b] {
        let code = access(&view, door).doorcode.code.as_deref().expect("code");
        assert!(
            welcome.content.contains(&format!("{}: {code}", door.name)),
            "{}: {}",
            door.name,
            welcome.content
        );
    }
}

#[tokio::test]
async fn an_existing_user_is_told_about_new_permanent_access() {
    let world = World::start().await;
    let d = &world.p.doors;
    world.a.create_user_v2(&permanent("grace@example.com", &[&d.lobby], world.now())).await.expect("first");
    let view = world
        .b
        .create_user_v2(&permanent("grace@example.com", &[&d.staff_room], world.now()))
        .await
        .expect("B");
    let messages = world.messages_to("grace@example.com").await;
    assert_eq!(
        kinds(&messages),
        [(Channel::Email, MessageKind::Welcome), (Channel::Email, MessageKind::AccessGranted)]
    );
    let code = access(&view, &d.staff_room).doorcode.code.as_deref().expect("code");
    let content = &messages[1].content;
    assert!(content.contains(&world.p.b.name) && content.contains(code), "{content}");

    // A resident gets the welcome email without any doorcode in it.
    let mut request = permanent("resident@example.com", &[&d.unit_5c], world.now());
    request.role = Role::Resident;
    world.a.create_user_v2(&request).await.expect("resident");
    let messages = world.messages_to("resident@example.com").await;
    assert_eq!(kinds(&messages), [(Channel::Email, MessageKind::Welcome)]);
    assert!(doorcodes_in(&messages[0].content).is_empty(), "{}", messages[0].content);
}

#[tokio::test]
async fn daily_codes_go_by_email_when_an_email_is_given() {
    let world = World::start().await;
    let d = &world.p.doors;
    for (kind, email, validity) in [
        (PasscodeType::Daily, "day@example.com", "works all day"),
        (PasscodeType::DailySingleUse, "once@example.com", "15 minutes after you first use it"),
    ] {
        let view = world
            .a
            .create_user_v2(&daily(kind, Contact::Email(email), &[&d.lobby], world.now()))
            .await
            .expect("grant");
        let messages = world.messages_to(email).await;
        assert_eq!(
            kinds(&messages),
            [(Channel::Email, MessageKind::Welcome), (Channel::Email, MessageKind::Doorcode)],
            "{kind}"
        );
        assert!(doorcodes_in(&messages[0].content).is_empty(), "{kind}: the welcome email holds no day code");
        let code = view.accesses[0].doorcode.code.as_deref().expect("code");
        let content = &messages[1].content;
        assert!(content.contains(&format!("Lobby: {code}")), "{kind}: {content}");
        assert!(content.contains("2026-06-10") && content.contains("America/New_York"), "{kind}: {content}");
        assert!(content.contains(validity), "{kind}: {content}");
    }
}

#[tokio::test]
async fn daily_codes_by_phone_are_texted_unless_a_user_with_that_phone_has_an_email() {
    let world = World::start().await;
    let d = &world.p.doors;
    let stranger = "+14155550100";
    let view = world
        .a
        .create_user_v2(&daily(PasscodeType::Daily, Contact::Phone(stranger), &[&d.lobby], world.now()))
        .await
        .expect("by phone");
    let messages = world.outbox().await;
    assert_eq!(kinds(&messages), [(Channel::Sms, MessageKind::Doorcode)], "a text, no email, no welcome");
    assert_eq!(messages[0].recipient, stranger);
    assert!(messages[0].content.contains(view.accesses[0].doorcode.code.as_deref().expect("code")));
    // The same phone-only user again: still a text.
    world
        .a
        .create_user_v2(&daily(
            PasscodeType::DailySingleUse,
            Contact::Phone(stranger),
            &[&d.gym],
            world.now(),
        ))
        .await
        .expect("again");
    assert_eq!(kinds(&world.messages_to(stranger).await), [(Channel::Sms, MessageKind::Doorcode); 2]);

    // A phone that belongs to a user with an email: the code goes to that email instead.
    let known = "+14155550111";
    let mut request = permanent("grace@example.com", &[&d.unit_4b], world.now());
    request.phone = Some(known.into());
    world.a.create_user_v2(&request).await.expect("grace with a phone");
    let view = world
        .a
        .create_user_v2(&daily(PasscodeType::Daily, Contact::Phone(known), &[&d.lobby], world.now()))
        .await
        .expect("by grace's phone");
    assert!(world.messages_to(known).await.is_empty(), "no text");
    let messages = world.messages_to("grace@example.com").await;
    assert_eq!(
        kinds(&messages),
        [(Channel::Email, MessageKind::Welcome), (Channel::Email, MessageKind::Doorcode)]
    );
    let code = access(&view, &d.lobby).doorcode.code.as_deref().expect("code");
    assert!(messages[1].content.contains(code));
}

#[tokio::test]
async fn should_notify_false_sends_nothing() {
    let world = World::start().await;
    let d = &world.p.doors;
    let mut request = permanent("quiet@example.com", &[&d.lobby, &d.unit_4b], world.now());
    request.should_notify = false;
    let view = world.a.create_user_v2(&request).await.expect("permanent");
    assert!(view.accesses.iter().all(|a| a.doorcode.code.is_some()), "the codes are in the response");
    let mut request = permanent("quiet-resident@example.com", &[&d.unit_5c], world.now());
    request.role = Role::Resident;
    request.should_notify = false;
    world.a.create_user_v2(&request).await.expect("permanent resident");
    for kind in [PasscodeType::Daily, PasscodeType::DailySingleUse] {
        let mut request = daily(kind, Contact::Phone("+14155550100"), &[&d.gym], world.now());
        request.should_notify = false;
        let view = world.a.create_user_v2(&request).await.expect("daily");
        assert!(view.accesses[0].doorcode.code.is_some());
        let mut request = daily(kind, Contact::Email("quiet@example.com"), &[&d.unit_5c], world.now());
        request.should_notify = false;
        world.a.create_user_v2(&request).await.expect("daily by email");
    }
    assert_eq!(world.outbox().await, Vec::new(), "not a single email or text");
}

#[tokio::test]
async fn resident_daily_codes_reach_the_user_only_by_notification() {
    let world = World::start().await;
    let d = &world.p.doors;
    let mut request =
        daily(PasscodeType::Daily, Contact::Email("res@example.com"), &[&d.unit_4b], world.now());
    request.role = Role::Resident;
    let view = world.a.create_user_v2(&request).await.expect("grant");
    assert_eq!(view.accesses[0].doorcode.code, None);
    let messages = world.messages_to("res@example.com").await;
    let doorcode = messages.iter().find(|m| m.kind == MessageKind::Doorcode).expect("a doorcode email");
    assert_eq!(doorcodes_in(&doorcode.content).len(), 1, "the code is in the email: {}", doorcode.content);
}

#[tokio::test]
async fn a_daily_invite_across_time_zones_tells_each_doors_day() {
    let world = World::start().await;
    let d = &world.p.doors;
    // 16:00 UTC on the 10th: the 10th in New York, the 11th in Tokyo.
    let view = world
        .a
        .create_user_v2(&daily(
            PasscodeType::Daily,
            Contact::Email("trip@example.com"),
            &[&d.lobby, &d.tokyo_entrance],
            world.now(),
        ))
        .await
        .expect("grant");
    let messages = world.messages_to("trip@example.com").await;
    let content = &messages.iter().find(|m| m.kind == MessageKind::Doorcode).expect("doorcode email").content;
    for (door, day, zone) in
        [(&d.lobby, "2026-06-10", "America/New_York"), (&d.tokyo_entrance, "2026-06-11", "Asia/Tokyo")]
    {
        let code = access(&view, door).doorcode.code.as_deref().expect("code");
        let line =
            content.lines().find(|line| line.contains(code)).unwrap_or_else(|| panic!("{code} in {content}"));
        assert!(
            line.contains(day) && line.contains(zone),
            "{}: the line of its code names its day: {content}",
            door.name
        );
    }
}
