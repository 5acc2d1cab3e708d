//! QMP input checking for the builtin scalar types.

use serde_json::{Number, Value};

use crate::visit::{FromQapi, Loc};
use crate::{Null, QapiError};

/// A JSON number as QEMU's parser types it: an integer token becomes
/// an int64, else a uint64 if it fits; anything else (a fraction, an
/// exponent, or an integer too large) is a double.  Written so that it
/// holds with serde_json's arbitrary_precision feature on or off.
enum Num {
    Int(i64),
    Uint(u64),
    Double,
}

fn classify(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i)
    } else if let Some(u) = n.as_u64() {
        Num::Uint(u)
    } else {
        Num::Double
    }
}

impl FromQapi for String {
    fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(QapiError::invalid_type(&at.full_name(), "string")),
        }
    }
}

impl FromQapi for bool {
    fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
        match v {
            Value::Bool(b) => Ok(*b),
            _ => Err(QapiError::invalid_type(&at.full_name(), "boolean")),
        }
    }
}

impl FromQapi for i64 {
    fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
        match v {
            Value::Number(n) => match classify(n) {
                Num::Int(i) => Ok(i),
                Num::Uint(_) | Num::Double => {
                    Err(QapiError::invalid_type(&at.full_name(), "integer"))
                }
            },
            _ => Err(QapiError::invalid_type(&at.full_name(), "integer")),
        }
    }
}

impl FromQapi for u64 {
    /// QEMU takes negative integers too and wraps them, "for backward
    /// compatibility"; its message for the rest is a range message.
    fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
        match v {
            Value::Number(n) => match classify(n) {
                Num::Uint(u) => Ok(u),
                Num::Int(i) => Ok(i as u64),
                Num::Double => Err(QapiError::invalid_value(&at.full_name(), "uint64")),
            },
            _ => Err(QapiError::invalid_value(&at.full_name(), "uint64")),
        }
    }
}

/// Sized integers are read as 64-bit ones, then range-checked with a
/// message that names the C type and the bare member name.
macro_rules! sized_int {
    ($ty:ty, $wide:ty, $cname:literal) => {
        impl FromQapi for $ty {
            fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
                let wide = <$wide>::from_qapi(v, at)?;
                <$ty>::try_from(wide).map_err(|_| QapiError::invalid_value(at.bare_name(), $cname))
            }
        }
    };
}

sized_int!(i8, i64, "int8_t");
sized_int!(i16, i64, "int16_t");
sized_int!(i32, i64, "int32_t");
sized_int!(u8, u64, "uint8_t");
sized_int!(u16, u64, "uint16_t");
sized_int!(u32, u64, "uint32_t");

impl FromQapi for f64 {
    fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
        match v {
            // Every JSON number converts; integers too, as in QEMU.
            Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
            _ => Err(QapiError::invalid_type(&at.full_name(), "number")),
        }
    }
}

impl FromQapi for Null {
    fn from_qapi(v: &Value, at: &Loc<'_>) -> Result<Self, QapiError> {
        match v {
            Value::Null => Ok(Null),
            _ => Err(QapiError::invalid_type(&at.full_name(), "null")),
        }
    }
}

impl FromQapi for Value {
    fn from_qapi(v: &Value, _at: &Loc<'_>) -> Result<Self, QapiError> {
        Ok(v.clone())
    }
}
