//! HTML building blocks: escaping, the page layout with its navigation, the stylesheet, and form fields
//! that keep what the user typed and show a rejected form's message in place.

use std::collections::HashMap;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The stylesheet of every page.
pub const STYLE: &str = r#"
:root { --ink:#1d2330; --muted:#5b6475; --line:#d9dde5; --accent:#2450b8; --bad:#b42318; --good:#067647; --bg:#f6f7f9; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
a { color:var(--accent); }
.skip { position:absolute; left:-999px; } .skip:focus { left:8px; top:8px; background:#fff; padding:4px 8px; }
header { background:#fff; border-bottom:1px solid var(--line); padding:10px 24px; display:flex; gap:24px; align-items:center; flex-wrap:wrap; }
header .brand { font-weight:700; }
nav ul { list-style:none; display:flex; gap:4px; margin:0; padding:0; flex-wrap:wrap; }
nav a { display:block; padding:6px 10px; border-radius:6px; text-decoration:none; }
nav a[aria-current=page] { background:var(--accent); color:#fff; }
main { max-width:1100px; margin:0 auto; padding:24px; }
h1 { font-size:24px; margin:0 0 16px; } h2 { font-size:18px; margin:0 0 12px; }
section.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:16px 20px; margin-bottom:20px; }
table { border-collapse:collapse; width:100%; } th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:13px; }
form.stack { display:grid; gap:10px; max-width:560px; }
form.inline { display:flex; gap:8px; align-items:end; flex-wrap:wrap; margin:4px 0; }
label { display:grid; gap:2px; font-weight:600; font-size:14px; }
label.check { display:flex; gap:6px; align-items:center; font-weight:400; }
input[type=text], input[type=email], input[type=password], input[type=datetime-local], select { font:inherit; padding:6px 8px; border:1px solid #b8bfcc; border-radius:6px; background:#fff; }
button { font:inherit; padding:7px 14px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--accent); }
:focus-visible { outline:3px solid #f5b400; outline-offset:2px; }
.error { color:var(--bad); background:#fef3f2; border:1px solid #fecdca; border-radius:6px; padding:8px 10px; margin:0; }
.notice { color:var(--good); background:#ecfdf3; border:1px solid #abefc6; border-radius:6px; padding:8px 10px; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; border:1px solid var(--line); }
.badge.on { background:#ecfdf3; color:var(--good); border-color:#abefc6; } .badge.off { background:#f2f4f7; color:var(--muted); }
.muted { color:var(--muted); } code, pre { font-family:ui-monospace, Menlo, monospace; font-size:13px; }
pre { white-space:pre-wrap; background:#f2f4f7; padding:8px; border-radius:6px; margin:4px 0; }
fieldset { border:1px solid var(--line); border-radius:6px; } legend { font-weight:600; font-size:14px; }
"#;

/// The manager pages, for the navigation.
pub const NAV: &[(&str, &str)] = &[
    ("/manager/partners", "Partners"),
    ("/manager/buildings", "Buildings and doors"),
    ("/manager/keys", "Keys"),
    ("/manager/users", "Users"),
    ("/manager/outbox", "Outbox"),
    ("/manager/webhooks", "Webhooks"),
];

/// A whole page. `current` is the path of the page in the navigation, if any; `csrf` adds sign-out.
pub fn layout(title: &str, current: Option<&str>, csrf: Option<&str>, body: &str) -> String {
    let mut nav = String::new();
    if let Some(csrf) = csrf {
        nav.push_str("<nav aria-label=\"Manager\"><ul>");
        for (href, label) in NAV {
            let here = if current == Some(*href) { " aria-current=\"page\"" } else { "" };
            nav.push_str(&format!("<li><a href=\"{href}\"{here}>{label}</a></li>"));
        }
        nav.push_str("</ul></nav>");
        nav.push_str(&format!(
            "<form method=\"post\" action=\"/manager/sign-out\" class=\"inline\">{}<button class=\"secondary\">Sign out</button></form>",
            csrf_field(csrf)
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Latch Manager</title><link rel=\"stylesheet\" href=\"/manager/style.css\"></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a><header><span class=\"brand\">Latch Manager</span>{nav}</header>\
         <main id=\"main\"><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title)
    )
}

/// The hidden CSRF field of a form.
pub fn csrf_field(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf))
}

/// What a rejected form said and had: its id, the message, the values typed.
#[derive(Clone, Debug, Default)]
pub struct Rejected {
    /// Which form (`partner`, `key-doors:<uuid>`, ...).
    pub form: String,
    /// The message to show in place.
    pub message: String,
    /// The values as submitted.
    pub values: HashMap<String, Vec<String>>,
}

/// The state of one form while rendering: its values if it was the rejected one.
pub struct FormView<'a> {
    /// The form's id.
    pub id: String,
    rejected: Option<&'a Rejected>,
}

impl<'a> FormView<'a> {
    /// The form `id` given the page's rejected form, if any.
    pub fn new(id: impl Into<String>, rejected: Option<&'a Rejected>) -> FormView<'a> {
        let id = id.into();
        let rejected = rejected.filter(|rejected| rejected.form == id);
        FormView { id, rejected }
    }

    /// The message block (with an id the form's fields point to), or nothing.
    pub fn error(&self) -> String {
        match self.rejected {
            Some(rejected) => format!(
                "<p class=\"error\" role=\"alert\" id=\"{}-error\">{}</p>",
                esc(&self.id),
                esc(&rejected.message)
            ),
            None => String::new(),
        }
    }

    fn described(&self) -> String {
        if self.rejected.is_some() {
            format!(" aria-describedby=\"{}-error\" aria-invalid=\"true\"", esc(&self.id))
        } else {
            String::new()
        }
    }

    /// The submitted value of `name`, or `default`.
    pub fn value(&self, name: &str, default: &str) -> String {
        self.rejected
            .and_then(|rejected| rejected.values.get(name))
            .and_then(|values| values.first().cloned())
            .unwrap_or_else(|| default.to_owned())
    }

    /// Whether a checkbox `name` with `value` is checked (`default` when the form was not rejected).
    pub fn is_checked(&self, name: &str, value: &str, default: bool) -> bool {
        match self.rejected {
            Some(rejected) => {
                rejected.values.get(name).is_some_and(|values| values.iter().any(|v| v == value))
            }
            None => default,
        }
    }

    /// A labelled input.
    pub fn input(&self, kind: &str, name: &str, label: &str, default: &str, extra: &str) -> String {
        format!(
            "<label>{}<input type=\"{kind}\" name=\"{name}\" value=\"{}\"{}{extra}></label>",
            esc(label),
            esc(&self.value(name, default)),
            self.described()
        )
    }

    /// A labelled select of `(value, text)` options.
    pub fn select(&self, name: &str, label: &str, options: &[(String, String)], default: &str) -> String {
        let chosen = self.value(name, default);
        let mut out = format!("<label>{}<select name=\"{name}\"{}>", esc(label), self.described());
        for (value, text) in options {
            let selected = if *value == chosen { " selected" } else { "" };
            out.push_str(&format!("<option value=\"{}\"{selected}>{}</option>", esc(value), esc(text)));
        }
        out.push_str("</select></label>");
        out
    }

    /// A checkbox.
    pub fn checkbox(&self, name: &str, value: &str, label: &str, default: bool) -> String {
        let checked = if self.is_checked(name, value, default) { " checked" } else { "" };
        format!(
            "<label class=\"check\"><input type=\"checkbox\" name=\"{name}\" value=\"{}\"{checked}> {}</label>",
            esc(value),
            esc(label)
        )
    }
}

/// `(value, value)` options of a wire enum's spellings.
pub fn enum_options(values: &[&str]) -> Vec<(String, String)> {
    values.iter().map(|value| ((*value).to_owned(), (*value).to_owned())).collect()
}
