//! The HMP command table, argument parsing and output formatting.
