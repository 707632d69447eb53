//! The validation rules of the spec, written once for both sides.
//!
//! The client runs [`validate_create_user`] and [`validate_patch`] before sending (a bad request fails fast
//! and nothing is sent); the simulator runs the very same functions, then the checks that need its database
//! (doors the partner may use, each door's time zone via [`daily_start_day`]).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use thiserror::Error;

use super::{CreateUserRequest, InviteGuestRequest, PasscodeType, Role};

/// The most doors one invite may name.
pub const MAX_DOORS_PER_REQUEST: usize = 100;

/// The longest first or last name accepted.
pub const MAX_NAME_CHARS: usize = 100;

/// A request that breaks a rule of the spec. The message says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// `firstName` or `lastName` is empty or too long.
    #[error("{field} must be 1 to {MAX_NAME_CHARS} characters")]
    InvalidName {
        /// `firstName` or `lastName`.
        field: &'static str,
    },
    /// `email` is not an address.
    #[error("email is not a valid address: give it as name@example.com")]
    InvalidEmail,
    /// `phone` is not E.164.
    #[error(
        "phone must be in E.164 form: a '+', the country code and 7 to 14 more digits, such as +14155550123"
    )]
    InvalidPhone,
    /// No doors were named.
    #[error("doorUuids must name at least one door")]
    NoDoors,
    /// Too many doors in one request.
    #[error("doorUuids names {0} doors; at most {MAX_DOORS_PER_REQUEST} are allowed per request")]
    TooManyDoors(usize),
    /// PERMANENT access without an email.
    #[error("PERMANENT access requires an email (the phone number is optional)")]
    PermanentNeedsEmail,
    /// A DAILY kind with both or neither of email and phone.
    #[error("{0} access requires exactly one of email or phone, not both and not neither")]
    DailyNeedsOneContact(PasscodeType),
    /// A DAILY kind marked shareable.
    #[error("{0} access cannot be shared: set shareable to false")]
    DailyNotShareable(PasscodeType),
    /// A DAILY kind starting on a day other than today or tomorrow in the door's time zone.
    #[error(
        "{passcode_type} access must start today or tomorrow in the door's time zone ({timezone}); startTime {start} falls on {start_day}, and today there is {today}"
    )]
    DailyStartOutOfRange {
        /// DAILY or DAILY_SINGLE_USE.
        passcode_type: PasscodeType,
        /// The door's IANA zone (or "any time zone" on the client).
        timezone: String,
        /// The requested start.
        start: DateTime<Utc>,
        /// Its local day.
        start_day: NaiveDate,
        /// Today's local day.
        today: NaiveDate,
    },
    /// `endTime` not after `startTime`.
    #[error("endTime must be after startTime")]
    EndNotAfterStart,
    /// PATCH with an `endTime` that is not after now and the access's start.
    #[error("endTime must be after the current time and after the access's startTime")]
    EndNotInFuture,
    /// `shouldNotify: false` where the user would have no way to get their doorcode.
    #[error(
        "shouldNotify cannot be false for {0} access with role RESIDENT: resident doorcodes are never returned by the API, so the notification is the user's only way to get the code"
    )]
    NotificationRequired(PasscodeType),
}

impl ValidationError {
    /// The request field at fault, as the API spells it (`email`, `doorUuids`, `startTime`, …), so an app
    /// can point at the input to fix.
    pub fn field(&self) -> &'static str {
        match self {
            ValidationError::InvalidName { field } => field,
            ValidationError::InvalidEmail
            | ValidationError::PermanentNeedsEmail
            | ValidationError::DailyNeedsOneContact(_) => "email",
            ValidationError::InvalidPhone => "phone",
            ValidationError::NoDoors | ValidationError::TooManyDoors(_) => "doorUuids",
            ValidationError::DailyNotShareable(_) => "shareable",
            ValidationError::DailyStartOutOfRange { .. } => "startTime",
            ValidationError::EndNotAfterStart | ValidationError::EndNotInFuture => "endTime",
            ValidationError::NotificationRequired(_) => "shouldNotify",
        }
    }
}

/// Checks every rule of an invite that needs neither the database nor a door's time zone; for DAILY kinds it
/// also checks that the start could be today or tomorrow in *some* time zone (the exact check, in the door's
/// zone, is [`daily_start_day`], done by the backend).
pub fn validate_create_user(req: &CreateUserRequest, now: DateTime<Utc>) -> Result<(), ValidationError> {
    validate_name("firstName", &req.first_name)?;
    validate_name("lastName", &req.last_name)?;
    // A blank contact counts as absent, as it does when the backend reads the JSON body.
    let email = given(&req.email);
    let phone = given(&req.phone);
    if let Some(email) = email {
        validate_email(email)?;
    }
    if let Some(phone) = phone {
        validate_phone(phone)?;
    }
    if req.door_uuids.is_empty() {
        return Err(ValidationError::NoDoors);
    }
    if req.door_uuids.len() > MAX_DOORS_PER_REQUEST {
        return Err(ValidationError::TooManyDoors(req.door_uuids.len()));
    }
    match req.passcode_type {
        PasscodeType::Permanent => {
            if email.is_none() {
                return Err(ValidationError::PermanentNeedsEmail);
            }
            if let Some(end) = req.end_time
                && end <= req.start_time
            {
                return Err(ValidationError::EndNotAfterStart);
            }
        }
        kind @ (PasscodeType::Daily | PasscodeType::DailySingleUse) => {
            if email.is_some() == phone.is_some() {
                return Err(ValidationError::DailyNeedsOneContact(kind));
            }
            if req.shareable {
                return Err(ValidationError::DailyNotShareable(kind));
            }
            if !req.should_notify && req.role == Role::Resident {
                return Err(ValidationError::NotificationRequired(kind));
            }
            daily_start_possible_somewhere(kind, req.start_time, now)?;
        }
    }
    Ok(())
}

/// The invite a user's guest request amounts to: role NON_RESIDENT, never shareable, notified.
pub fn guest_invite_as_create_user(req: &InviteGuestRequest) -> CreateUserRequest {
    CreateUserRequest {
        first_name: req.first_name.clone(),
        last_name: req.last_name.clone(),
        email: req.email.clone().filter(|text| !text.trim().is_empty()),
        phone: req.phone.clone().filter(|text| !text.trim().is_empty()),
        start_time: req.start_time,
        end_time: req.end_time,
        door_uuids: req.door_uuids.clone(),
        shareable: false,
        passcode_type: req.passcode_type,
        role: Role::NonResident,
        should_notify: true,
    }
}

/// Checks a user's guest invite with the rules of a partner invite ([`validate_create_user`]) for role
/// NON_RESIDENT and `shareable: false`.
pub fn validate_guest_invite(req: &InviteGuestRequest, now: DateTime<Utc>) -> Result<(), ValidationError> {
    validate_create_user(&guest_invite_as_create_user(req), now)
}

/// An optional text field's value, with blanks counting as absent.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.trim().is_empty())
}

/// The exact DAILY rule: the local calendar day of `start` in the door's zone must be today or tomorrow
/// there. Returns that day. The exact time on the day is not honoured.
pub fn daily_start_day<Tz: TimeZone>(
    passcode_type: PasscodeType,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    zone: &Tz,
    zone_name: &str,
) -> Result<NaiveDate, ValidationError> {
    let start_day = start.with_timezone(zone).date_naive();
    let today = now.with_timezone(zone).date_naive();
    if start_day == today || Some(start_day) == today.succ_opt() {
        Ok(start_day)
    } else {
        Err(ValidationError::DailyStartOutOfRange {
            passcode_type,
            timezone: zone_name.to_owned(),
            start,
            start_day,
            today,
        })
    }
}

/// The client's DAILY check, without the door's zone: accepts a start that is today or tomorrow in at least
/// one UTC offset from -12:00 to +14:00 (quarter-hour steps), so it never refuses what the backend accepts.
fn daily_start_possible_somewhere(
    passcode_type: PasscodeType,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    let fits = (-48..=56).any(|quarters: i32| {
        FixedOffset::east_opt(quarters * 15 * 60)
            .is_some_and(|zone| daily_start_day(passcode_type, start, now, &zone, "").is_ok())
    });
    if fits {
        return Ok(());
    }
    Err(ValidationError::DailyStartOutOfRange {
        passcode_type,
        timezone: "any time zone".to_owned(),
        start,
        start_day: start.date_naive(),
        today: now.date_naive(),
    })
}

/// The PATCH rule: a new `endTime`, if any, must be after now and after the access's start.
pub fn validate_patch(
    end_time: Option<DateTime<Utc>>,
    access_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    match end_time {
        Some(end) if end <= now || end <= access_start => Err(ValidationError::EndNotInFuture),
        _ => Ok(()),
    }
}

/// A first or last name: 1 to [`MAX_NAME_CHARS`] characters, not only spaces.
pub fn validate_name(field: &'static str, value: &str) -> Result<(), ValidationError> {
    let chars = value.chars().count();
    if value.trim().is_empty() || chars > MAX_NAME_CHARS {
        return Err(ValidationError::InvalidName { field });
    }
    Ok(())
}

/// An email address: `local@domain.tld`, no spaces, at most 254 characters.
pub fn validate_email(email: &str) -> Result<(), ValidationError> {
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid { Ok(()) } else { Err(ValidationError::InvalidEmail) }
}

/// An E.164 phone number: `+`, a non-zero digit, then 7 to 14 more digits.
pub fn validate_phone(phone: &str) -> Result<(), ValidationError> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid { Ok(()) } else { Err(ValidationError::InvalidPhone) }
}

/// The identity an invite is matched on: the email (lowercased) if given, else the phone.
pub fn normalized_email(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// The start and end of a local calendar day, as UTC instants (the window of a DAILY access).
pub fn local_day_window<Tz: TimeZone>(day: NaiveDate, zone: &Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |date: NaiveDate| {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        // A day may start at 01:00 where DST begins at midnight: take the earliest valid local time.
        (0..4)
            .find_map(|hours| zone.from_local_datetime(&(midnight + Duration::hours(hours))).earliest())
            .map(|local| local.with_timezone(&Utc))
            .unwrap_or_else(|| midnight.and_utc())
    };
    let next = day.succ_opt().unwrap_or(day);
    (start_of(day), start_of(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid instant").to_utc()
    }

    fn request(passcode_type: PasscodeType) -> CreateUserRequest {
        CreateUserRequest {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: Some("ada@example.com".into()),
            phone: None,
            start_time: at("2026-11-22T10:00:00Z"),
            end_time: None,
            door_uuids: vec!["door-1".into()],
            shareable: false,
            passcode_type,
            role: Role::NonResident,
            should_notify: true,
        }
    }

    const NOW: &str = "2026-11-22T09:00:00Z";

    #[test]
    fn a_guest_invite_follows_the_invite_rules_as_a_non_resident() {
        let now = at("2026-06-10T16:00:00Z");
        let mut guest = crate::model::InviteGuestRequest {
            first_name: "Gus".into(),
            last_name: "Guest".into(),
            email: Some("gus@example.com".into()),
            phone: None,
            start_time: now,
            end_time: None,
            door_uuids: vec!["d".into()],
            passcode_type: PasscodeType::Permanent,
        };
        assert_eq!(validate_guest_invite(&guest, now), Ok(()));
        let as_invite = guest_invite_as_create_user(&guest);
        assert_eq!((as_invite.role, as_invite.shareable), (Role::NonResident, false));
        guest.passcode_type = PasscodeType::Daily;
        guest.phone = Some("+14155550123".into());
        assert_eq!(
            validate_guest_invite(&guest, now),
            Err(ValidationError::DailyNeedsOneContact(PasscodeType::Daily))
        );
        guest.door_uuids.clear();
        assert_eq!(validate_guest_invite(&guest, now), Err(ValidationError::NoDoors));
    }

    #[test]
    fn permanent_needs_an_email() {
        let mut req = request(PasscodeType::Permanent);
        req.email = None;
        req.phone = Some("+14155550123".into());
        assert_eq!(validate_create_user(&req, at(NOW)), Err(ValidationError::PermanentNeedsEmail));
    }

    #[test]
    fn daily_needs_exactly_one_contact_and_no_sharing() {
        let mut req = request(PasscodeType::Daily);
        req.phone = Some("+14155550123".into());
        assert_eq!(
            validate_create_user(&req, at(NOW)),
            Err(ValidationError::DailyNeedsOneContact(PasscodeType::Daily))
        );
        req.email = None;
        assert_eq!(validate_create_user(&req, at(NOW)), Ok(()));
        req.phone = None;
        assert!(validate_create_user(&req, at(NOW)).is_err());
        req.email = Some("ada@example.com".into());
        req.shareable = true;
        assert_eq!(
            validate_create_user(&req, at(NOW)),
            Err(ValidationError::DailyNotShareable(PasscodeType::Daily))
        );
    }

    #[test]
    fn blank_contacts_count_as_absent() {
        let mut req = request(PasscodeType::Daily);
        req.email = Some("  ".into());
        req.phone = Some("+14155550123".into());
        assert_eq!(validate_create_user(&req, at(NOW)), Ok(()));
        let mut req = request(PasscodeType::Permanent);
        req.email = Some(String::new());
        assert_eq!(validate_create_user(&req, at(NOW)), Err(ValidationError::PermanentNeedsEmail));
    }

    #[test]
    fn resident_daily_must_notify() {
        let mut req = request(PasscodeType::DailySingleUse);
        req.role = Role::Resident;
        req.should_notify = false;
        assert_eq!(
            validate_create_user(&req, at(NOW)),
            Err(ValidationError::NotificationRequired(PasscodeType::DailySingleUse))
        );
        req.role = Role::NonResident;
        assert_eq!(validate_create_user(&req, at(NOW)), Ok(()));
    }

    #[test]
    fn daily_start_is_today_or_tomorrow_in_the_door_zone() {
        let tokyo = FixedOffset::east_opt(9 * 3600).expect("offset");
        // 2026-11-22T15:30Z is 00:30 on the 23rd in Tokyo: "today" there is the 23rd.
        let now = at("2026-11-22T15:30:00Z");
        let same_day = at("2026-11-22T16:00:00Z");
        let next_day = at("2026-11-24T14:59:59Z");
        let too_far = at("2026-11-24T15:00:00Z");
        let yesterday = at("2026-11-22T14:59:59Z");
        let rule = |start| daily_start_day(PasscodeType::Daily, start, now, &tokyo, "Asia/Tokyo");
        assert_eq!(rule(same_day), Ok(NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")));
        assert_eq!(rule(next_day), Ok(NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")));
        assert!(rule(too_far).is_err());
        assert!(rule(yesterday).is_err());
    }

    #[test]
    fn client_side_daily_check_refuses_only_what_no_zone_accepts() {
        let mut req = request(PasscodeType::Daily);
        req.start_time = at("2026-11-26T10:00:00Z");
        assert!(matches!(
            validate_create_user(&req, at(NOW)),
            Err(ValidationError::DailyStartOutOfRange { .. })
        ));
        req.start_time = at("2026-11-24T08:00:00Z");
        assert_eq!(validate_create_user(&req, at(NOW)), Ok(()), "tomorrow in a UTC+14 zone");
    }

    #[test]
    fn no_doors_and_bad_contacts_are_refused() {
        let mut req = request(PasscodeType::Permanent);
        req.door_uuids.clear();
        assert_eq!(validate_create_user(&req, at(NOW)), Err(ValidationError::NoDoors));
        assert_eq!(validate_email("not-an-email"), Err(ValidationError::InvalidEmail));
        assert_eq!(validate_email("a@b"), Err(ValidationError::InvalidEmail));
        assert_eq!(validate_email("a@b.co"), Ok(()));
        assert_eq!(validate_phone("4155550123"), Err(ValidationError::InvalidPhone));
        assert_eq!(validate_phone("+14155550123"), Ok(()));
        assert_eq!(
            validate_name("firstName", "  "),
            Err(ValidationError::InvalidName { field: "firstName" })
        );
    }

    #[test]
    fn patch_end_must_be_after_now_and_start() {
        let start = at("2026-11-20T00:00:00Z");
        assert_eq!(validate_patch(None, start, at(NOW)), Ok(()));
        assert_eq!(
            validate_patch(Some(at("2026-11-22T08:00:00Z")), start, at(NOW)),
            Err(ValidationError::EndNotInFuture)
        );
        assert_eq!(validate_patch(Some(at("2026-11-23T00:00:00Z")), start, at(NOW)), Ok(()));
        let future_start = at("2026-12-01T00:00:00Z");
        assert_eq!(
            validate_patch(Some(at("2026-11-30T00:00:00Z")), future_start, at(NOW)),
            Err(ValidationError::EndNotInFuture)
        );
    }

    #[test]
    fn a_local_day_window_spans_the_day_in_that_zone() {
        let new_york = FixedOffset::west_opt(5 * 3600).expect("offset");
        let (start, end) = local_day_window(NaiveDate::from_ymd_opt(2026, 11, 22).expect("date"), &new_york);
        assert_eq!(start, at("2026-11-22T05:00:00Z"));
        assert_eq!(end, at("2026-11-23T05:00:00Z"));
    }
}
