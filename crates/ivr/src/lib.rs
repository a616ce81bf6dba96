//! IVR (filled in by the IVR work).
