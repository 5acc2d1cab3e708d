//! The QAPI schema: commands, events, types, errors and introspection.
