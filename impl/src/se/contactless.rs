//! The SE's contactless interface (THREAT-READER; 004 基本方針1 カードリーダー読み取り, 002 課題③):
//! a card reader held to the phone reaches the JPKI applet as it would a My Number card's
//! JPKI AP, without the app, without OMAPI and its access rules (R-ACL does not apply on this
//! route), without the network, even with the phone powered off (the SE is powered by the
//! field). Only the applet's own PIN checks stand between the holder and the keys.
//!
//! The reader first selects the applet by AID (`00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01`),
//! then speaks the same APDUs as on an OMAPI channel, with one applet session of its own
//! ([`ChannelContext::Contactless`]). Taking the phone out of the field (or a reader reset)
//! ends that session: verification, current EF and selection are forgotten.
//!
//! Status words that differ from the OMAPI route (where `open_channel` fails with an
//! [`super::SeError`] instead):
//!
//! | situation | answer |
//! |---|---|
//! | no JPKI instance, or SELECT of another AID | `6A82` file or application not found |
//! | instance not selectable, or locked | `6A82` (as a card hides a non-selectable application) |
//! | card life cycle CARD_LOCKED or TERMINATED | `6A82` |
//! | a command before the applet was selected | `6986` command not allowed (no current application) |
//! | MANAGE CHANNEL | `6D00` (one basic channel only) |
//!
//! Personalisation commands stay refused (`6982`): they need the APSD's SCP03 session.

use super::SecureElement;
use crate::apdu::{Command, Response, StatusWord};
use crate::applet::{ChannelContext, JPKI_AID};

/// `6A82`: application not found.
const SW_APP_NOT_FOUND: StatusWord = StatusWord(0x6A82);
/// `6986`: command not allowed, no application selected.
const SW_NOT_SELECTED: StatusWord = StatusWord(0x6986);

impl SecureElement {
    /// A raw APDU from a card reader over the contactless interface; the raw response. Never
    /// panics; every input gets a status word.
    pub fn transmit_contactless(&mut self, raw: &[u8]) -> Vec<u8> {
        let cmd = match Command::parse(raw) {
            Ok(c) => c,
            Err(e) => return Response::status(e.status()).to_bytes(),
        };
        if cmd.cla & 0x80 == 0 && cmd.ins == 0x70 {
            return Response::status(StatusWord::INS_NOT_SUPPORTED).to_bytes();
        }
        let available = self.contactless_applet_available();
        let select_aid = cmd.cla & 0x80 == 0 && cmd.ins == 0xA4 && cmd.p1 == 0x04;
        if select_aid {
            self.contactless_field_off();
            if !available || cmd.data.as_slice() != JPKI_AID {
                return Response::status(SW_APP_NOT_FOUND).to_bytes();
            }
        } else if !available || !self.contactless_selected {
            self.contactless_selected = false;
            return Response::status(SW_NOT_SELECTED).to_bytes();
        }
        let resp = match self.instance.as_mut() {
            Some(i) => i
                .applet
                .process(&cmd, ChannelContext::Contactless, &mut self.keygen),
            None => Response::status(SW_APP_NOT_FOUND),
        };
        if select_aid && resp.sw == StatusWord::OK {
            self.contactless_selected = true;
        }
        resp.to_bytes()
    }

    /// The phone leaves the reader's field, or the reader resets it: the contactless session
    /// ends (verification, current EF and the selection are forgotten).
    pub fn contactless_field_off(&mut self) {
        self.contactless_selected = false;
        if let Some(i) = self.instance.as_mut() {
            i.applet.end_session(ChannelContext::Contactless);
        }
    }

    /// Whether the applet is currently selected on the contactless interface.
    pub fn contactless_selected(&self) -> bool {
        self.contactless_selected && self.contactless_applet_available()
    }

    fn contactless_applet_available(&self) -> bool {
        use super::CardLifeCycle::{CardLocked, Terminated};
        !matches!(self.card, CardLocked | Terminated)
            && self
                .instance
                .as_ref()
                .is_some_and(|i| i.selectable && !i.locked)
    }
}
