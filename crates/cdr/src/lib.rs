//! Sans-IO call records: the record each INVITE dialog leaves
