//! A dependency's `copyright` file, from its metadata and licence files.
//! (helper B)
