//! The control stanza of a generated package: `Depends` from
//! `Requires-Dist`, `Replaces`/`Breaks` between layouts. (helper B)
