//! The enums of the spec, serialized exactly as the wire spells them.

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as the wire spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the wire spelling; `None` for anything else.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Lets sibling modules declare their wire enums the same way.
pub(super) use wire_enum;

wire_enum! {
    /// The kind of access a grant gives.
    PasscodeType {
        /// Mobile access (and, for non-residents, permanent doorcodes) for a start and optional end time.
        Permanent => "PERMANENT",
        /// A doorcode for one calendar day in the door's time zone.
        Daily => "DAILY",
        /// A doorcode for one calendar day that expires 15 minutes after its first use.
        DailySingleUse => "DAILY_SINGLE_USE",
    }
}

impl PasscodeType {
    /// DAILY and DAILY_SINGLE_USE: the doorcode kinds bound to one calendar day.
    pub fn is_daily(self) -> bool {
        matches!(self, PasscodeType::Daily | PasscodeType::DailySingleUse)
    }
}

wire_enum! {
    /// How the partner classifies the user for a door. Decides whether v2 exposes doorcodes.
    Role {
        /// Lives there; doorcodes are never exposed through the API.
        Resident => "RESIDENT",
        /// A guest, visitor or service provider.
        NonResident => "NON_RESIDENT",
    }
}

wire_enum! {
    /// What a door is.
    DoorType {
        /// A door.
        Door => "DOOR",
        /// An elevator reader.
        Elevator => "ELEVATOR",
    }
}

wire_enum! {
    /// Whether a door is shared by the building or belongs to one unit.
    AccessibilityType {
        /// A shared door (lobby, gym): permanent guests get one common code for all of them.
        Communal => "COMMUNAL",
        /// A unit's own door: permanent guests get a code per door.
        Private => "PRIVATE",
    }
}

wire_enum! {
    /// The hardware model of an activated lock.
    DeviceType {
        /// Latch M.
        M => "M",
        /// Latch R.
        R => "R",
        /// Latch R2.
        R2 => "R2",
        /// Latch C.
        C => "C",
        /// Latch Intercom / gateway.
        G => "G",
    }
}

wire_enum! {
    /// Who granted an access.
    GranterType {
        /// A partner, through the partner API.
        Partner => "PARTNER",
        /// A user sharing their access with a guest.
        User => "USER",
    }
}

wire_enum! {
    /// Why a v2 access does or does not carry a doorcode.
    DoorcodeDescription {
        /// A valid 7-digit doorcode is returned.
        Valid => "VALID",
        /// The user has permanent access to communal doors granted by a property manager in a building with
        /// common doorcodes; `code` is null.
        CommunalDoorcodeConflict => "COMMUNAL_DOORCODE_CONFLICT",
        /// The user has resident access to the door; resident doorcodes are never exposed; `code` is null.
        UserHasResidentAccess => "USER_HAS_RESIDENT_ACCESS",
        /// The user already has permanent guest access granted by a property manager; `code` is null.
        UserHasGuestAccessConflict => "USER_HAS_GUEST_ACCESS_CONFLICT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_use_the_spec_spelling_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&PasscodeType::DailySingleUse).expect("json"),
            "\"DAILY_SINGLE_USE\""
        );
        assert_eq!(serde_json::to_string(&Role::NonResident).expect("json"), "\"NON_RESIDENT\"");
        assert_eq!(
            serde_json::to_string(&DoorcodeDescription::CommunalDoorcodeConflict).expect("json"),
            "\"COMMUNAL_DOORCODE_CONFLICT\""
        );
        for value in DeviceType::ALL {
            assert_eq!(DeviceType::parse(value.as_str()), Some(*value));
        }
        assert!(serde_json::from_str::<Role>("\"resident\"").is_err());
    }
}
