//! Parsing durations given on the command line: a whole number followed by `s`, `m`, `h` or `d`.

/// Parses `90s`, `15m`, `24h` or `7d`.
pub fn parse(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 =
        number.parse().map_err(|_| format!("{text:?} is not a duration such as 90s, 15m, 24h or 7d"))?;
    let duration = match unit {
        "ms" => chrono::Duration::try_milliseconds(number),
        "s" => chrono::Duration::try_seconds(number),
        "m" => chrono::Duration::try_minutes(number),
        "h" => chrono::Duration::try_hours(number),
        "d" => chrono::Duration::try_days(number),
        _ => None,
    };
    match duration {
        Some(duration) if number > 0 => Ok(duration),
        _ => Err(format!("{text:?} is not a duration such as 90s, 15m, 24h or 7d")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_errors() {
        assert_eq!(parse("24h"), Ok(chrono::Duration::hours(24)));
        assert_eq!(parse("90s"), Ok(chrono::Duration::seconds(90)));
        assert_eq!(parse("7d"), Ok(chrono::Duration::days(7)));
        assert_eq!(parse("250ms"), Ok(chrono::Duration::milliseconds(250)));
        assert!(parse("24").is_err());
        assert!(parse("0h").is_err());
        assert!(parse("h").is_err());
    }
}
