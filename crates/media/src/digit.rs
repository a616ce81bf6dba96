//! The sixteen DTMF keys, shared by the RTP event path and the in-band detector.

use std::fmt;

/// A DTMF key. The discriminant is the RFC 4733 event code (0-9, `*` = 10, `#` = 11, A-D = 12-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Digit {
    D0 = 0,
    D1 = 1,
    D2 = 2,
    D3 = 3,
    D4 = 4,
    D5 = 5,
    D6 = 6,
    D7 = 7,
    D8 = 8,
    D9 = 9,
    Star = 10,
    Hash = 11,
    A = 12,
    B = 13,
    C = 14,
    D = 15,
}

impl Digit {
    /// All sixteen keys in event-code order.
    pub const ALL: [Digit; 16] = [
        Digit::D0,
        Digit::D1,
        Digit::D2,
        Digit::D3,
        Digit::D4,
        Digit::D5,
        Digit::D6,
        Digit::D7,
        Digit::D8,
        Digit::D9,
        Digit::Star,
        Digit::Hash,
        Digit::A,
        Digit::B,
        Digit::C,
        Digit::D,
    ];

    /// The key for an RFC 4733 event code, `None` for codes that are not DTMF keys.
    #[must_use]
    pub const fn from_event_code(code: u8) -> Option<Digit> {
        if (code as usize) < Self::ALL.len() {
            Some(Self::ALL[code as usize])
        } else {
            None
        }
    }

    /// The RFC 4733 event code of this key.
    #[must_use]
    pub const fn event_code(self) -> u8 {
        self as u8
    }

    /// The key printed on the keypad.
    #[must_use]
    pub const fn as_char(self) -> char {
        match self {
            Digit::D0 => '0',
            Digit::D1 => '1',
            Digit::D2 => '2',
            Digit::D3 => '3',
            Digit::D4 => '4',
            Digit::D5 => '5',
            Digit::D6 => '6',
            Digit::D7 => '7',
            Digit::D8 => '8',
            Digit::D9 => '9',
            Digit::Star => '*',
            Digit::Hash => '#',
            Digit::A => 'A',
            Digit::B => 'B',
            Digit::C => 'C',
            Digit::D => 'D',
        }
    }

    /// The key for a keypad character (letters in either case).
    #[must_use]
    pub fn from_char(c: char) -> Option<Digit> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_char() == c.to_ascii_uppercase())
    }

    /// The (low, high) tone frequencies in Hz, ITU-T Q.23.
    #[must_use]
    pub const fn frequencies(self) -> (f32, f32) {
        let (row, col) = self.keypad_position();
        (ROW_HZ[row], COL_HZ[col])
    }

    /// Row and column of the key on the 4x4 keypad, indices into [`ROW_HZ`] and [`COL_HZ`].
    #[must_use]
    pub const fn keypad_position(self) -> (usize, usize) {
        match self {
            Digit::D1 => (0, 0),
            Digit::D2 => (0, 1),
            Digit::D3 => (0, 2),
            Digit::A => (0, 3),
            Digit::D4 => (1, 0),
            Digit::D5 => (1, 1),
            Digit::D6 => (1, 2),
            Digit::B => (1, 3),
            Digit::D7 => (2, 0),
            Digit::D8 => (2, 1),
            Digit::D9 => (2, 2),
            Digit::C => (2, 3),
            Digit::Star => (3, 0),
            Digit::D0 => (3, 1),
            Digit::Hash => (3, 2),
            Digit::D => (3, 3),
        }
    }

    /// The key at a keypad row and column, `None` outside the 4x4 grid.
    #[must_use]
    pub const fn at_keypad_position(row: usize, col: usize) -> Option<Digit> {
        const GRID: [[Digit; 4]; 4] = [
            [Digit::D1, Digit::D2, Digit::D3, Digit::A],
            [Digit::D4, Digit::D5, Digit::D6, Digit::B],
            [Digit::D7, Digit::D8, Digit::D9, Digit::C],
            [Digit::Star, Digit::D0, Digit::Hash, Digit::D],
        ];
        if row < 4 && col < 4 {
            Some(GRID[row][col])
        } else {
            None
        }
    }
}

/// Low-group (row) frequencies in Hz, ITU-T Q.23.
pub const ROW_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz, ITU-T Q.23.
pub const COL_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}
