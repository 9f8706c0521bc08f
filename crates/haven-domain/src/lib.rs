//! Haven's domain: the words of the people who use it, as types.
//!
//! Pure code only: no I/O, no async, no database or HTTP types. Values that come from outside are
//! parsed here once, at the edge, into newtypes whose existence proves their validity; handlers and
//! the store then work with those types and never with raw strings.

pub mod agencies;
pub mod cases;
pub mod clock;
pub mod court;
pub mod desk;
pub mod documents;
pub mod ids;
pub mod institutions;
pub mod lang;
pub mod markdown;
pub mod numbering;
pub mod passwords;
pub mod people;
pub mod phone;
pub mod policy;
pub mod referrals;
pub mod role;
pub mod script;
pub mod validate;

pub use clock::{Clock, ManualClock, OsRng, SecureRng, SystemClock};
pub use ids::{IdGen, OrgId, UserId};
pub use lang::Language;
pub use role::Role;
pub use validate::{FieldError, ValidationErrors};
