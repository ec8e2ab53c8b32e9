//! fabric-ai binary
fn main() {}
