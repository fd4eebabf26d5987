//! Any implementation, in any language, checked against the model through the driver
//! protocol (`docs/DRIVER.md`): [`protocol`] the messages, [`client`] the driver process,
//! [`run`] the conformance modes through it, [`server`] our own implementation as a driver.

pub mod client;
pub mod conform;
pub mod protocol;
pub mod run;
pub mod server;
