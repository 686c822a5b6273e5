//! darkstat-capd: capture → decode → account → publish.
pub mod capture;
pub mod decode;
