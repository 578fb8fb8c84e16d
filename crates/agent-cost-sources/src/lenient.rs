//! Reading parts of a file that may have another type than expected, without failing the
//! whole file: an element of a list that is not an object, a metadata field that is not text.
//! The element or field is then skipped (and, where it could carry usage, counted as
//! malformed) while the rest of the file is read.

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// An object read as `T`, or anything else (skipped while parsing, without being held).
#[derive(Debug, Clone)]
pub enum Lenient<T> {
    /// An object.
    Object(T),
    /// Not an object.
    Other,
}

impl<T> Lenient<T> {
    /// The object, if it was one.
    pub fn object(&self) -> Option<&T> {
        match self {
            Lenient::Object(object) => Some(object),
            Lenient::Other => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for LenientVisitor<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Lenient::Object)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Lenient::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
        }
        deserializer.deserialize_any(LenientVisitor(std::marker::PhantomData))
    }
}

/// A field read as `T` when it is one, `None` otherwise (for small fields only: the value is
/// parsed before it is converted).
pub fn or_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}
