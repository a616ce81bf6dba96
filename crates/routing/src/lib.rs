//! Sans-IO routing decisions and proxy fork state (RFC 3261 section 16)
