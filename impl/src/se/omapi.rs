//! The phone side of the SE: OMAPI-like logical channels for apps (R-ACL, THREAT-FAKE-APP).
//! A channel is opened under the access rules and bound to the app that opened it; every
//! command names its caller and is re-checked against the rules (see the parent module).

use super::{AccessRule, CardLifeCycle, ChannelId, SeError, SecureElement, SW_NO_CHANNEL};
use crate::apdu::{Command, Response, StatusWord};
use crate::applet::{ChannelContext, JPKI_AID};

impl SecureElement {
    /// OMAPI `openLogicalChannel(aid)` by the app whose signing certificate hashes to
    /// `app_cert_hash` (R-ACL).
    pub fn open_channel(
        &mut self,
        app_cert_hash: [u8; 32],
        aid: &[u8],
    ) -> Result<ChannelId, SeError> {
        if matches!(
            self.card,
            CardLifeCycle::CardLocked | CardLifeCycle::Terminated
        ) {
            return Err(SeError::CardNotAvailable(self.card));
        }
        let aid_v = aid.to_vec();
        let instance = match &self.instance {
            Some(i) if aid == JPKI_AID => i,
            _ => return Err(SeError::NoSuchApplet { aid: aid_v }),
        };
        if !instance.selectable {
            return Err(SeError::NotSelectable { aid: aid_v });
        }
        if instance.locked {
            return Err(SeError::AppletLocked { aid: aid_v });
        }
        let rule = AccessRule {
            aid: aid_v,
            app_cert_hash,
        };
        if !self.rules.contains(&rule) {
            return Err(SeError::AccessDenied {
                aid: rule.aid,
                app_cert_hash,
            });
        }
        let max = self.config.max_channels.clamp(1, 19);
        if self.channels.len() >= usize::from(max) {
            return Err(SeError::NoChannelAvailable { max });
        }
        let n = (1..=19u8)
            .find(|n| !self.channels.contains_key(n))
            .ok_or(SeError::NoChannelAvailable { max })?;
        self.channels.insert(n, app_cert_hash);
        if let Some(i) = self.instance.as_mut() {
            i.applet.end_session(ChannelContext::Omapi { channel: n });
        }
        Ok(ChannelId(n))
    }

    /// OMAPI `transmit` by the app whose signing certificate hashes to `app_cert_hash`: a raw
    /// APDU to the applet on `channel`; the raw response. Never panics. A channel answers only
    /// the app that opened it, and only while the access rules still grant that app the
    /// applet (R-ACL, THREAT-FAKE-APP): another app's command gets `6881` (the channel is not
    /// open for it), and a channel whose grant was removed is closed and answers `6881`.
    pub fn transmit(&mut self, app_cert_hash: [u8; 32], channel: ChannelId, raw: &[u8]) -> Vec<u8> {
        if self.channels.get(&channel.0) != Some(&app_cert_hash) {
            return Response::status(SW_NO_CHANNEL).to_bytes();
        }
        if !self.granted(app_cert_hash) {
            self.close_ungranted_channels();
            return Response::status(SW_NO_CHANNEL).to_bytes();
        }
        let cmd = match Command::parse(raw) {
            Ok(c) => c,
            Err(e) => return Response::status(e.status()).to_bytes(),
        };
        if cmd.cla & 0x80 == 0 && cmd.ins == 0x70 {
            return Response::status(StatusWord::INS_NOT_SUPPORTED).to_bytes();
        }
        let resp = match self.instance.as_mut() {
            Some(i) if i.selectable && !i.locked => i.applet.process(
                &cmd,
                ChannelContext::Omapi { channel: channel.0 },
                &mut self.keygen,
            ),
            _ => Response::status(SW_NO_CHANNEL),
        };
        resp.to_bytes()
    }

    /// OMAPI `Channel.close` by the app that opened `channel` (another app's close is
    /// [`SeError::UnknownChannel`]).
    pub fn close_channel(
        &mut self,
        app_cert_hash: [u8; 32],
        channel: ChannelId,
    ) -> Result<(), SeError> {
        if self.channels.get(&channel.0) != Some(&app_cert_hash) {
            return Err(SeError::UnknownChannel(channel));
        }
        self.channels.remove(&channel.0);
        if let Some(i) = self.instance.as_mut() {
            i.applet
                .end_session(ChannelContext::Omapi { channel: channel.0 });
        }
        Ok(())
    }

    /// Whether the access rules grant the app the JPKI applet.
    fn granted(&self, app_cert_hash: [u8; 32]) -> bool {
        self.rules.contains(&AccessRule {
            aid: JPKI_AID.to_vec(),
            app_cert_hash,
        })
    }

    /// Close every channel whose app the access rules no longer grant (with its applet
    /// session: a verified PIN does not outlive the grant).
    pub(super) fn close_ungranted_channels(&mut self) {
        let gone: Vec<u8> = self
            .channels
            .iter()
            .filter(|(_, &hash)| !self.granted(hash))
            .map(|(&n, _)| n)
            .collect();
        for n in gone {
            self.channels.remove(&n);
            if let Some(i) = self.instance.as_mut() {
                i.applet.end_session(ChannelContext::Omapi { channel: n });
            }
        }
    }
}
