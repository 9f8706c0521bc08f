//! Typed record ids: UUIDv7, time-ordered, made from the application's clock and generator.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::{Clock, SecureRng, random_bytes};

/// Defines a newtype over [`Uuid`] for one kind of record.
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// The inner UUID.
            pub fn uuid(self) -> uuid::Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(u: uuid::Uuid) -> Self {
                Self(u)
            }
        }
    };
}

define_id!(
    /// An organisation (a helpline, an NGO) on the platform.
    OrgId
);
define_id!(
    /// A staff account.
    UserId
);

/// Makes new UUIDv7 ids from a clock and a secure generator.
pub struct IdGen<'a> {
    clock: &'a dyn Clock,
    rng: &'a dyn SecureRng,
}

impl<'a> IdGen<'a> {
    /// An id generator over the given clock and generator.
    pub fn new(clock: &'a dyn Clock, rng: &'a dyn SecureRng) -> Self {
        Self { clock, rng }
    }

    /// A new UUIDv7 for the current time.
    pub fn uuid(&self) -> Uuid {
        uuid_v7_at(self.clock.now(), self.rng)
    }

    /// A new id of the requested kind.
    pub fn id<T: From<Uuid>>(&self) -> T {
        T::from(self.uuid())
    }
}

/// A UUIDv7 for the instant `t` with random bits from `rng`.
pub fn uuid_v7_at(t: DateTime<Utc>, rng: &dyn SecureRng) -> Uuid {
    let millis = u64::try_from(t.timestamp_millis()).unwrap_or(0);
    let random: [u8; 10] = random_bytes(rng);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// A UUID parsed from user input (a path segment, a form field), or `None`.
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::from_str(s.trim()).ok()
}

/// Formats a UUID in its short, lower-case, hyphenated form.
pub struct Hyphenated(pub Uuid);

impl fmt::Display for Hyphenated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// An id that appears in a URL or a form: the string is parsed once and refused if malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnyId(pub Uuid);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, OsRng};

    #[test]
    fn ids_are_v7_and_ordered_by_time() {
        let clock = ManualClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let gen_ = IdGen::new(&clock, &OsRng);
        let a: UserId = gen_.id();
        clock.advance(chrono::TimeDelta::milliseconds(2));
        let b: UserId = gen_.id();
        assert_eq!(a.0.get_version_num(), 7);
        assert!(a < b);
        assert_eq!(a.to_string().parse::<UserId>().unwrap(), a);
    }
}
