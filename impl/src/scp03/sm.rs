//! SCP03 secure messaging shared by both ends (Amd D §6.2.4-§6.2.7): C-MAC chaining, command
//! data encryption, R-MAC and response data encryption, and the class-byte rules. Part of
//! R-SCP03.

use super::kdf::{ct_eq, SessionKeys, BLOCK};
use super::{Scp03Error, SecurityLevel, S8};
use crate::apdu::{Command, Response, StatusWord};

/// The class-byte coding of GlobalPlatform secure messaging for one CLA.
#[derive(Clone, Copy, Debug)]
struct Class {
    /// The bit that marks secure messaging: `04` (first interindustry class, b3) or `20`
    /// (further interindustry class, b6).
    sm_bit: u8,
    /// The bits that must be clear in an unsecured command (`04`+`08` resp. `20`).
    sm_mask: u8,
    /// The CLA used in the C-MAC input: logical channel set to zero, SM bit set.
    mac_cla: u8,
}

impl Class {
    fn of(cla: u8) -> Result<Class, Scp03Error> {
        if cla == 0xFF {
            return Err(Scp03Error::UnsupportedClass(cla));
        }
        Ok(if cla & 0x40 == 0 {
            // First interindustry coding: channel in b1-b2, b3-b4 secure messaging.
            Class {
                sm_bit: 0x04,
                sm_mask: 0x0C,
                mac_cla: (cla & 0xF0) | 0x04,
            }
        } else {
            // Further interindustry coding: channel in b1-b4, b6 secure messaging.
            Class {
                sm_bit: 0x20,
                sm_mask: 0x20,
                mac_cla: (cla & 0xF0) | 0x20,
            }
        })
    }
}

/// Whether SCP03 protects a response with this status word: only `9000` and warnings
/// (`62xx`, `63xx`); an error status word is sent bare (Amd D §6.2.5).
pub(crate) fn protected_status(sw: StatusWord) -> bool {
    sw == StatusWord::OK || matches!(sw.sw1(), 0x62 | 0x63)
}

/// The Lc field as transmitted for `len` data bytes.
fn lc_field(extended: bool, len: usize) -> Vec<u8> {
    if extended {
        let [hi, lo] = (len as u16).to_be_bytes();
        vec![0, hi, lo]
    } else {
        vec![len as u8]
    }
}

/// The state of an authenticated session on either end.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    keys: SessionKeys,
    level: SecurityLevel,
    /// MAC chaining value: the full C-MAC of the last command (16 zero bytes initially).
    chain: [u8; BLOCK],
    /// The chaining value before the last accepted command, to recognise a replay.
    prev_chain: Option<[u8; BLOCK]>,
    /// Encryption counter: the number of the current command (0 before the first).
    counter: u64,
}

impl Channel {
    /// A channel at the start of EXTERNAL AUTHENTICATE: chaining value zero, counter zero.
    pub(crate) fn new(keys: SessionKeys, level: SecurityLevel) -> Channel {
        Channel {
            keys,
            level,
            chain: [0; BLOCK],
            prev_chain: None,
            counter: 0,
        }
    }

    pub(crate) fn level(&self) -> SecurityLevel {
        self.level
    }

    /// Change the level mid-session (tests only: to send commands below the session level).
    #[cfg(test)]
    pub(crate) fn set_level(&mut self, level: SecurityLevel) {
        self.level = level;
    }

    /// C-MAC input header: MAC class byte, INS P1 P2 and Lc as transmitted.
    fn mac_header(mac_cla: u8, cmd: &Command, extended: bool, len: usize) -> Vec<u8> {
        let mut h = vec![mac_cla, cmd.ins, cmd.p1, cmd.p2];
        h.extend(lc_field(extended, len));
        h
    }

    /// Host side: secure `cmd`. `counted` is false only for EXTERNAL AUTHENTICATE, which is
    /// MACed but neither encrypted nor counted.
    pub(crate) fn protect_command(
        &mut self,
        cmd: &Command,
        counted: bool,
    ) -> Result<Vec<u8>, Scp03Error> {
        let class = Class::of(cmd.cla)?;
        if cmd.cla & class.sm_mask != 0 {
            return Err(Scp03Error::UnsupportedClass(cmd.cla));
        }
        let body = if counted {
            self.counter += 1;
            if self.level.c_dec() && !cmd.data.is_empty() {
                let icv = self.keys.command_icv(self.counter);
                self.keys.s_enc.cbc_encrypt_padded(&icv, &cmd.data)
            } else {
                cmd.data.clone()
            }
        } else {
            cmd.data.clone()
        };
        let total = body.len() + S8;
        if total > usize::from(u16::MAX) {
            return Err(Scp03Error::DataTooLong { len: total });
        }
        // Command::to_bytes uses the extended form under exactly this condition.
        let extended = cmd.extended || total > 255 || cmd.le.is_some_and(|l| l > 256);
        let header = Self::mac_header(class.mac_cla, cmd, extended, total);
        let mac = self.keys.s_mac.cmac(&[&self.chain, &header, &body]);
        self.prev_chain = Some(self.chain);
        self.chain = mac;
        let mut data = body;
        data.extend_from_slice(&mac[..S8]);
        let wrapped = Command {
            cla: cmd.cla | class.sm_bit,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le: cmd.le,
            extended,
        };
        Ok(wrapped.to_bytes())
    }

    /// Card side: check the secure-messaging class and C-MAC of `cmd` and advance the chain;
    /// returns the (still encrypted) data without the C-MAC.
    pub(crate) fn check_cmac(&mut self, cmd: &Command) -> Result<Vec<u8>, Scp03Error> {
        let class = Class::of(cmd.cla)?;
        if cmd.cla & class.sm_mask != class.sm_bit {
            return Err(Scp03Error::MissingSecureMessaging { cla: cmd.cla });
        }
        let Some(split) = cmd.data.len().checked_sub(S8) else {
            return Err(Scp03Error::MissingMac {
                len: cmd.data.len(),
            });
        };
        let (body, rx_mac) = cmd.data.split_at(split);
        let header = Self::mac_header(class.mac_cla, cmd, cmd.extended, cmd.data.len());
        let mac = self.keys.s_mac.cmac(&[&self.chain, &header, body]);
        if !ct_eq(&mac[..S8], rx_mac) {
            if let Some(prev) = self.prev_chain {
                let again = self.keys.s_mac.cmac(&[&prev, &header, body]);
                if ct_eq(&again[..S8], rx_mac) {
                    return Err(Scp03Error::Replay);
                }
            }
            return Err(Scp03Error::CMacMismatch);
        }
        self.prev_chain = Some(self.chain);
        self.chain = mac;
        Ok(body.to_vec())
    }

    /// Card side: verify and decrypt a command received after EXTERNAL AUTHENTICATE.
    pub(crate) fn unprotect_command(&mut self, cmd: &Command) -> Result<Command, Scp03Error> {
        let body = self.check_cmac(cmd)?;
        self.counter += 1;
        let data = if self.level.c_dec() && !body.is_empty() {
            if !body.len().is_multiple_of(BLOCK) {
                return Err(Scp03Error::DataNotEncrypted { len: body.len() });
            }
            let icv = self.keys.command_icv(self.counter);
            self.keys
                .s_enc
                .cbc_decrypt_padded(&icv, &body)
                .ok_or(Scp03Error::BadPadding)?
        } else {
            body
        };
        let class = Class::of(cmd.cla)?;
        Ok(Command {
            cla: cmd.cla & !class.sm_bit,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le: cmd.le,
            extended: cmd.extended,
        })
    }

    /// Card side: R-ENCRYPTION and R-MAC of a response per the level; returns data || SW.
    pub(crate) fn protect_response(&self, resp: &Response) -> Vec<u8> {
        if !self.level.r_mac() {
            return resp.to_bytes();
        }
        let sw = [resp.sw.sw1(), resp.sw.sw2()];
        if !protected_status(resp.sw) {
            return sw.to_vec();
        }
        let mut out = if self.level.r_enc() && !resp.data.is_empty() {
            let icv = self.keys.response_icv(self.counter);
            self.keys.s_enc.cbc_encrypt_padded(&icv, &resp.data)
        } else {
            resp.data.clone()
        };
        let rmac = self.keys.s_rmac.cmac(&[&self.chain, &out, &sw]);
        out.extend_from_slice(&rmac[..S8]);
        out.extend_from_slice(&sw);
        out
    }

    /// Host side: verify the R-MAC and decrypt a response (data || SW) per the level.
    pub(crate) fn unprotect_response(&self, raw: &[u8]) -> Result<Response, Scp03Error> {
        let resp =
            Response::parse(raw).map_err(|_| Scp03Error::MalformedResponse { len: raw.len() })?;
        if !self.level.r_mac() {
            return Ok(resp);
        }
        if !protected_status(resp.sw) {
            if !resp.data.is_empty() {
                return Err(Scp03Error::UnprotectedErrorData {
                    sw: resp.sw,
                    len: resp.data.len(),
                });
            }
            return Ok(resp);
        }
        let Some(split) = resp.data.len().checked_sub(S8) else {
            return Err(Scp03Error::MissingRMac {
                len: resp.data.len(),
            });
        };
        let (body, rx_mac) = resp.data.split_at(split);
        let sw = [resp.sw.sw1(), resp.sw.sw2()];
        let rmac = self.keys.s_rmac.cmac(&[&self.chain, body, &sw]);
        if !ct_eq(&rmac[..S8], rx_mac) {
            return Err(Scp03Error::RMacMismatch);
        }
        let data = if self.level.r_enc() && !body.is_empty() {
            if !body.len().is_multiple_of(BLOCK) {
                return Err(Scp03Error::DataNotEncrypted { len: body.len() });
            }
            let icv = self.keys.response_icv(self.counter);
            self.keys
                .s_enc
                .cbc_decrypt_padded(&icv, body)
                .ok_or(Scp03Error::BadPadding)?
        } else {
            body.to_vec()
        };
        Ok(Response { data, sw: resp.sw })
    }
}

#[cfg(test)]
impl Channel {
    /// Test only: [`Channel::protect_response`] with `extra_blocks` whole blocks of zeros
    /// after the minimal `80 00..` padding (as Samsung's OpenSCP card emulation pads).
    pub(crate) fn protect_response_overpadded(
        &self,
        resp: &Response,
        extra_blocks: usize,
    ) -> Vec<u8> {
        let sw = [resp.sw.sw1(), resp.sw.sw2()];
        let mut padded = resp.data.clone();
        padded.push(0x80);
        padded.resize(
            padded.len().div_ceil(BLOCK) * BLOCK + extra_blocks * BLOCK,
            0,
        );
        let icv = self.keys.response_icv(self.counter);
        // CBC is prefix-stable: the padded plaintext's own blocks, without the block the
        // padding function appends to a whole-block input.
        let mut out = self.keys.s_enc.cbc_encrypt_padded(&icv, &padded);
        out.truncate(padded.len());
        let rmac = self.keys.s_rmac.cmac(&[&self.chain, &out, &sw]);
        out.extend_from_slice(&rmac[..S8]);
        out.extend_from_slice(&sw);
        out
    }
}
