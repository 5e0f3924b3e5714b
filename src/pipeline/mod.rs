//! The request pipeline's stages before storage, in upstream's order: authentication,
//! authorization, admission. Each stage is a plain function over typed inputs (the user,
//! the request info, a published cache view), composed once in `http::dispatch`.
//! Validation is the kind's strategy, run by the registry engine.

pub mod admission;
pub mod authn;
pub mod authz;

pub use authn::UserInfo;
