//! API key scopes and the rule for which scope satisfies which requirement.

use std::fmt;
use std::str::FromStr;

/// What an API key may do.
///
/// `admin` satisfies every requirement and `write` satisfies `read`; `ingest` is the narrow
/// scope agents use to start runs and report steps, and satisfies nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Write,
    Admin,
    Ingest,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Write, Scope::Admin, Scope::Ingest];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
            Scope::Ingest => "ingest",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::Write => 2,
            Scope::Admin => 4,
            Scope::Ingest => 8,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text given is not one of the known scopes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?} (expected one of read, write, admin, ingest)")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// A set of scopes held by one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u8);

impl ScopeSet {
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether a key holding these scopes may do what `required` guards.
    pub fn allows(self, required: Scope) -> bool {
        self.contains(Scope::Admin)
            || self.contains(required)
            || (required == Scope::Read && self.contains(Scope::Write))
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Parses a list of scope names; duplicates are merged.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, UnknownScope> {
        let mut set = ScopeSet::default();
        for name in names {
            set.insert(name.trim().parse()?);
        }
        Ok(set)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = Scope>>(iter: T) -> Self {
        let mut set = ScopeSet::default();
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl fmt::Display for ScopeSet {
    /// Comma-separated, in a fixed order: the storage format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in self.iter() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(held: &[&str], required: Scope, expected: bool) {
        let set = ScopeSet::parse(held.iter().copied()).expect("valid scopes");
        assert_eq!(set.allows(required), expected, "{held:?} allows {required}?");
    }

    #[test]
    fn scope_rules() {
        check(&["admin"], Scope::Ingest, true);
        check(&["admin"], Scope::Read, true);
        check(&["write"], Scope::Read, true);
        check(&["write"], Scope::Admin, false);
        check(&["read"], Scope::Write, false);
        check(&["ingest"], Scope::Read, false);
        check(&["ingest"], Scope::Ingest, true);
        check(&[], Scope::Read, false);
    }

    #[test]
    fn parse_and_display_round_trip() {
        let set = ScopeSet::parse(["write", "read", "read"]).expect("valid");
        assert_eq!(set.to_string(), "read,write");
        assert!(ScopeSet::parse(["root"]).is_err());
    }
}
