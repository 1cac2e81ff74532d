//! Domain values parsed once at the edge. Fields are private, so the rest of the code
//! cannot hold an invalid one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::{Date, OffsetDateTime};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ValueError {
    ValueError::Invalid(msg.into())
}

/// A staff role inside one practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clinician,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Clinician, Role::Supervisor, Role::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
    /// Admins must use a second factor; everyone else is offered one.
    pub fn requires_second_factor(self) -> bool {
        match self {
            Role::Admin => true,
            Role::Clinician | Role::Supervisor => false,
        }
    }
}

impl FromStr for Role {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "clinician" => Ok(Role::Clinician),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            _ => Err(invalid("role must be clinician, supervisor or admin")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the client came to a session. Later rules count attended sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    /// Booked, not yet held.
    Scheduled,
    Attended,
    Cancelled,
    NoShow,
}

impl Attendance {
    pub const ALL: [Attendance; 4] = [Attendance::Scheduled, Attendance::Attended, Attendance::Cancelled, Attendance::NoShow];
    pub fn as_str(self) -> &'static str {
        match self {
            Attendance::Scheduled => "scheduled",
            Attendance::Attended => "attended",
            Attendance::Cancelled => "cancelled",
            Attendance::NoShow => "no_show",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Attendance::Scheduled => "Scheduled",
            Attendance::Attended => "Attended",
            Attendance::Cancelled => "Cancelled",
            Attendance::NoShow => "No-show",
        }
    }
}

impl FromStr for Attendance {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scheduled" => Ok(Attendance::Scheduled),
            "attended" => Ok(Attendance::Attended),
            "cancelled" => Ok(Attendance::Cancelled),
            "no_show" => Ok(Attendance::NoShow),
            _ => Err(invalid("attendance must be scheduled, attended, cancelled or no_show")),
        }
    }
}

/// Rejects control characters (other than none at all) and trims; shared by text values.
fn clean_line(raw: &str, what: &str, max_chars: usize) -> Result<String, ValueError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    if s.chars().count() > max_chars {
        return Err(invalid(format!("{what} must be at most {max_chars} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(format!("{what} must not contain control characters")));
    }
    Ok(s.to_owned())
}

/// A client's name as the therapist records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    pub const MAX_CHARS: usize = 200;
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        clean_line(raw, "name", Self::MAX_CHARS).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Search tokens: the lower-cased words of the name and every prefix of at least
    /// two characters of each word, so "mar" finds "Maria Lopez".
    pub fn search_tokens(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for word in normalise_words(&self.0) {
            let chars: Vec<char> = word.chars().collect();
            for end in 2..=chars.len() {
                let prefix: String = chars.iter().take(end).collect();
                if !out.contains(&prefix) {
                    out.push(prefix);
                }
            }
            if chars.len() == 1 && !out.contains(&word) {
                out.push(word.clone());
            }
        }
        out
    }
}

/// The words of a name or a query, lower-cased, split on anything not alphanumeric.
pub fn normalise_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The tokens a search query must all match (each query word, lower-cased).
pub fn query_tokens(query: &str) -> Vec<String> {
    let mut words = normalise_words(query);
    words.truncate(5);
    words
}

/// A date of birth: not in the future and not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateOfBirth(Date);

impl DateOfBirth {
    pub fn parse(raw: &str, today: Date) -> Result<Self, ValueError> {
        let d = parse_date(raw).ok_or_else(|| invalid("date_of_birth must be a date written YYYY-MM-DD"))?;
        if d > today {
            return Err(invalid("date_of_birth must not be in the future"));
        }
        if d.year() < 1900 {
            return Err(invalid("date_of_birth must be after 1900"));
        }
        Ok(Self(d))
    }
    pub fn date(&self) -> Date {
        self.0
    }
    pub fn to_iso(&self) -> String {
        format_date(self.0)
    }
}

/// A calendar date written `YYYY-MM-DD` (surrounding blanks ignored).
pub fn parse_date(raw: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw.trim(), &fmt).ok()
}

pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// An e-mail address for a staff account (a light syntactic check; delivery is not our job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid { Ok(Self(s)) } else { Err(invalid("email must look like name@example.org")) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A staff member's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        clean_line(raw, "name", 200).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A practice's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeName(String);

impl PracticeName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        clean_line(raw, "practice name", 200).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password chosen by a user: long enough, not absurdly long (Argon2 input is bounded).
#[derive(Clone)]
pub struct NewPassword(String);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(invalid(format!("password must be at least {} characters", Self::MIN_CHARS)));
        }
        if n > 1024 {
            return Err(invalid("password must be at most 1024 characters"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Length of a session in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationMinutes(u16);

impl DurationMinutes {
    pub fn new(minutes: i64) -> Result<Self, ValueError> {
        if (1..=600).contains(&minutes) {
            Ok(Self(u16::try_from(minutes).map_err(|_| invalid("duration_minutes out of range"))?))
        } else {
            Err(invalid("duration_minutes must be between 1 and 600"))
        }
    }
    pub fn get(self) -> u16 {
        self.0
    }
}

/// Why someone outside the care team needs emergency access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassReason(String);

impl BreakGlassReason {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = clean_line(raw, "reason", 500)?;
        if s.chars().count() < 10 {
            return Err(invalid("reason must say why, in at least 10 characters"));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses an RFC 3339 timestamp (as the API takes them).
pub fn parse_rfc3339(raw: &str, field: &str) -> Result<OffsetDateTime, ValueError> {
    OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| invalid(format!("{field} must be an RFC 3339 timestamp, e.g. 2026-03-01T14:00:00Z")))
}

pub fn format_rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn client_name_rules() {
        assert!(ClientName::parse("  ").is_err());
        assert!(ClientName::parse("a\u{0}b").is_err());
        assert!(ClientName::parse(&"x".repeat(201)).is_err());
        assert_eq!(ClientName::parse("  Maria Lopez ").unwrap().as_str(), "Maria Lopez");
    }

    #[test]
    fn search_tokens_cover_prefixes() {
        let t = ClientName::parse("Maria López-Ortiz").unwrap().search_tokens();
        for want in ["ma", "mar", "maria", "ló", "lópez", "or", "ortiz"] {
            assert!(t.contains(&want.to_string()), "missing {want}: {t:?}");
        }
    }

    #[test]
    fn date_of_birth_rules() {
        let today = time::macros::date!(2026 - 01 - 01);
        assert!(DateOfBirth::parse("2027-01-01", today).is_err());
        assert!(DateOfBirth::parse("1850-01-01", today).is_err());
        assert!(DateOfBirth::parse("01/02/1990", today).is_err());
        assert_eq!(DateOfBirth::parse("1990-02-01", today).unwrap().to_iso(), "1990-02-01");
    }

    #[test]
    fn enums_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        for a in Attendance::ALL {
            assert_eq!(a.as_str().parse::<Attendance>().unwrap(), a);
        }
        assert!("owner".parse::<Role>().is_err());
    }

    #[test]
    fn email_and_password() {
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a b@c.org").is_err());
        assert_eq!(Email::parse(" A@Example.org ").unwrap().as_str(), "a@example.org");
        assert!(NewPassword::parse("short").is_err());
        assert!(format!("{:?}", NewPassword::parse("long enough password").unwrap()).contains("redacted"));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}") {
            let _ = ClientName::parse(&s).map(|n| n.search_tokens());
            let _ = Email::parse(&s);
            let _ = DateOfBirth::parse(&s, time::macros::date!(2026 - 01 - 01));
            let _ = parse_rfc3339(&s, "x");
            let _ = BreakGlassReason::parse(&s);
        }

        #[test]
        fn every_query_token_of_a_name_finds_it(first in "[a-z]{2,10}", last in "[a-z]{2,10}") {
            let name = ClientName::parse(&format!("{first} {last}")).unwrap();
            let tokens = name.search_tokens();
            for q in query_tokens(&format!("{} {}", &first[..2], last)) {
                prop_assert!(tokens.contains(&q));
            }
        }
    }
}
