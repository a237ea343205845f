//! Closed vocabularies with their wire spelling. Each enum lists its variants once, in
//! `str_enum!`, and gets `as_str`, `FromStr`, `Display`, `ALL` and serde from that list.

/// Declares an enum whose variants map one-to-one to fixed strings.
macro_rules! str_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::enums::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err($crate::enums::UnknownVariant {
                        kind: stringify!($name),
                        value: s.to_owned(),
                        expected: &[$($text),*],
                    }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use str_enum;

/// A string that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of {})", expected.join(", "))]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

#[cfg(test)]
mod tests {
    use crate::policy::BreachAction;

    #[test]
    fn spelling_round_trips_and_unknowns_name_the_choices() {
        for action in BreachAction::ALL {
            assert_eq!(action.as_str().parse::<BreachAction>(), Ok(*action));
            let json = serde_json::to_string(action).unwrap();
            assert_eq!(serde_json::from_str::<BreachAction>(&json).unwrap(), *action);
        }
        let err = "NUKE".parse::<BreachAction>().unwrap_err();
        assert!(err.to_string().contains("WARN, PAUSE, STOP, KILL"), "{err}");
    }
}
