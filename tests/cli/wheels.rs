//! Wheels made by the tests (see python_deb.rs).
