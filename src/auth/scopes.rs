//! xAPI scopes (xAPI 1.0.3 Communication §4.2 "OAuth Authorization Scope").

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    StatementsWrite,
    StatementsRead,
    StatementsReadMine,
    AllRead,
    All,
    State,
    Define,
    Profile,
    /// Cairn's own: the warehouse's reports and ad-hoc SQL (`POST /api/v1/sql`).
    AnalyticsRead,
}

impl Scope {
    pub const ALL: [Scope; 9] = [
        Scope::StatementsWrite,
        Scope::StatementsRead,
        Scope::StatementsReadMine,
        Scope::AllRead,
        Scope::All,
        Scope::State,
        Scope::Define,
        Scope::Profile,
        Scope::AnalyticsRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::StatementsWrite => "statements/write",
            Scope::StatementsRead => "statements/read",
            Scope::StatementsReadMine => "statements/read/mine",
            Scope::AllRead => "all/read",
            Scope::All => "all",
            Scope::State => "state",
            Scope::Define => "define",
            Scope::Profile => "profile",
            Scope::AnalyticsRead => "analytics/read",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope `{s}`; known scopes: {}", known.join(", "))
            })
    }
}

/// What a request wants to do; each maps to the scopes that allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    WriteStatements,
    ReadStatements,
    /// GET/HEAD on the State Resource.
    ReadState,
    /// PUT/POST/DELETE on the State Resource.
    WriteState,
    /// GET/HEAD on the Activity and Agent Profile Resources.
    ReadProfile,
    /// PUT/POST/DELETE on the Activity and Agent Profile Resources.
    WriteProfile,
    /// GET/HEAD on the Activities and Agents Resources.
    ReadDefinitions,
    /// Statements teaching the LRS Activity definitions and Agent names (Communication §4.2
    /// scope `define`): `all` or `define`.
    LearnDefinitions,
    /// The analytics warehouse's status and reports: `all`, `all/read` or `analytics/read`.
    ReadAnalytics,
    /// Ad-hoc SQL over the warehouse: `all` or `analytics/read` (`all/read` is an xAPI scope
    /// for the LRS's resources and does not reach raw SQL).
    QueryAnalytics,
}

/// Which statements a reader may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadReach {
    Everything,
    /// `statements/read/mine`: only statements whose authority is this credential.
    OwnOnly,
}

/// Decides whether `scopes` allow `access`.
pub fn allows(scopes: &[Scope], access: Access) -> bool {
    let has = |s: Scope| scopes.contains(&s);
    match access {
        Access::WriteStatements => has(Scope::All) || has(Scope::StatementsWrite),
        Access::ReadStatements => read_reach(scopes).is_some(),
        // Communication §4.2 (1.0.3): `state` and `profile` give read/write access to their
        // documents; `all/read` reads everything, `all` does everything.
        Access::ReadState => has(Scope::All) || has(Scope::AllRead) || has(Scope::State),
        Access::WriteState => has(Scope::All) || has(Scope::State),
        Access::ReadProfile => has(Scope::All) || has(Scope::AllRead) || has(Scope::Profile),
        Access::WriteProfile => has(Scope::All) || has(Scope::Profile),
        // Activities and Agents show what statements (and `define`) taught the LRS.
        Access::ReadAnalytics => {
            has(Scope::All) || has(Scope::AllRead) || has(Scope::AnalyticsRead)
        }
        Access::QueryAnalytics => has(Scope::All) || has(Scope::AnalyticsRead),
        Access::LearnDefinitions => has(Scope::All) || has(Scope::Define),
        Access::ReadDefinitions => {
            has(Scope::All)
                || has(Scope::AllRead)
                || has(Scope::StatementsRead)
                || has(Scope::Define)
        }
    }
}

/// How far a statement read reaches with these scopes, or `None` when it is not allowed.
pub fn read_reach(scopes: &[Scope]) -> Option<ReadReach> {
    let has = |s: Scope| scopes.contains(&s);
    if has(Scope::All) || has(Scope::AllRead) || has(Scope::StatementsRead) {
        Some(ReadReach::Everything)
    } else if has(Scope::StatementsReadMine) {
        Some(ReadReach::OwnOnly)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_table() {
        use Access::*;
        use Scope::*;
        let cases: &[(&[Scope], Access, bool)] = &[
            (&[All], WriteStatements, true),
            (&[All], ReadStatements, true),
            (&[AllRead], WriteStatements, false),
            (&[AllRead], ReadStatements, true),
            (&[StatementsWrite], ReadStatements, false),
            (&[StatementsRead], WriteStatements, false),
            (&[StatementsReadMine], ReadStatements, true),
            (&[State, Profile, Define], ReadStatements, false),
            (&[All], ReadState, true),
            (&[All], WriteState, true),
            (&[AllRead], ReadState, true),
            (&[AllRead], WriteState, false),
            (&[State], ReadState, true),
            (&[State], WriteState, true),
            (&[State], ReadProfile, false),
            (&[State], WriteProfile, false),
            (&[Profile], ReadProfile, true),
            (&[Profile], WriteProfile, true),
            (&[Profile], WriteState, false),
            (&[All], WriteProfile, true),
            (&[AllRead], ReadProfile, true),
            (&[AllRead], WriteProfile, false),
            (&[StatementsWrite, StatementsRead], WriteState, false),
            (&[StatementsWrite, StatementsRead], WriteProfile, false),
            (&[StatementsReadMine], ReadState, false),
            (&[All], ReadDefinitions, true),
            (&[AnalyticsRead], ReadAnalytics, true),
            (&[AnalyticsRead], QueryAnalytics, true),
            (&[AllRead], ReadAnalytics, true),
            (&[AllRead], QueryAnalytics, false),
            (&[All], QueryAnalytics, true),
            (&[AnalyticsRead], ReadStatements, false),
            (&[StatementsRead], ReadAnalytics, false),
            (&[AllRead], ReadDefinitions, true),
            (&[Define], ReadDefinitions, true),
            (&[StatementsRead], ReadDefinitions, true),
            (&[State, Profile, StatementsWrite], ReadDefinitions, false),
            (&[All], LearnDefinitions, true),
            (&[StatementsWrite, Define], LearnDefinitions, true),
            (&[StatementsWrite], LearnDefinitions, false),
            (&[AllRead], LearnDefinitions, false),
        ];
        for (scopes, access, expected) in cases {
            assert_eq!(allows(scopes, *access), *expected, "{scopes:?} {access:?}");
        }
        assert_eq!(read_reach(&[StatementsReadMine]), Some(ReadReach::OwnOnly));
    }

    #[test]
    fn scopes_round_trip() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), s);
        }
        assert!("statements/delete".parse::<Scope>().is_err());
    }
}
