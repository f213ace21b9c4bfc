//! Generated files: `/usr/bin` wrappers for entry points, and dh_python3's
//! `py3compile`/`py3clean` maintainer-script snippets. (helper B)
