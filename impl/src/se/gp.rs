//! The GlobalPlatform card-content commands of the ISD and APSD (INSTALL, DELETE, GET STATUS,
//! SET STATUS, STORE DATA of access rules) and the APSD's forwarding to the JPKI applet. Only
//! reached with an unwrapped command from an authenticated SCP03 session (R-SCP03). Formats
//! are documented in the parent module.

use super::tlv::{self, Tlv};
use super::{
    AccessRule, CardLifeCycle, Instance, SdId, SecureElement, APSD_AID, ISD_AID, JPKI_ELF_AID,
    JPKI_MODULE_AID,
};
use crate::apdu::{Command, Response, StatusWord};
use crate::applet::{AppletConfig, ChannelContext, JpkiApplet, JPKI_AID};

const INS_INSTALL: u8 = 0xE6;
const INS_DELETE: u8 = 0xE4;
const INS_GET_STATUS: u8 = 0xF2;
const INS_SET_STATUS: u8 = 0xF0;
const INS_STORE_DATA: u8 = 0xE2;

type Outcome = Result<Response, StatusWord>;

/// One GET STATUS entry.
struct StatusEntry {
    aid: Vec<u8>,
    life_cycle: u8,
    privileges: [u8; 3],
    modules: Vec<Vec<u8>>,
}

fn entry(aid: &[u8], life_cycle: u8, privileges: [u8; 3], modules: Vec<Vec<u8>>) -> StatusEntry {
    StatusEntry {
        aid: aid.to_vec(),
        life_cycle,
        privileges,
        modules,
    }
}

/// Read one length-prefixed field at the front of `data`.
fn lv(data: &[u8]) -> Result<(&[u8], &[u8]), StatusWord> {
    let (&len, rest) = data.split_first().ok_or(StatusWord::WRONG_DATA)?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(StatusWord::WRONG_DATA);
    }
    Ok(rest.split_at(len))
}

impl SecureElement {
    /// Handle a command unwrapped from `sd`'s secure channel at security `level`.
    pub(super) fn handle_sd_command(&mut self, sd: SdId, cmd: &Command, level: u8) -> Response {
        let gp_class = cmd.cla & 0x80 != 0;
        let outcome = match (gp_class, cmd.ins) {
            (true, INS_INSTALL) => self.install(cmd),
            (true, INS_DELETE) => self.delete(cmd),
            (true, INS_GET_STATUS) => self.get_status(sd, cmd),
            (true, INS_SET_STATUS) => self.set_status(sd, cmd),
            (true, INS_STORE_DATA) if sd == SdId::Isd => self.store_data(cmd),
            _ if sd == SdId::Apsd => self.forward(cmd, level),
            _ => Err(StatusWord::INS_NOT_SUPPORTED),
        };
        outcome.unwrap_or_else(Response::status)
    }

    fn card_usable(&self) -> Result<(), StatusWord> {
        match self.card {
            CardLifeCycle::CardLocked | CardLifeCycle::Terminated => {
                Err(StatusWord::CONDITIONS_NOT_SATISFIED)
            }
            _ => Ok(()),
        }
    }

    /// The APSD hands everything it does not handle itself to the applet (R-SCP03: this is
    /// the only way the applet sees a secure-channel context).
    fn forward(&mut self, cmd: &Command, level: u8) -> Outcome {
        // THREAT-SKIM: the minimum is the SE's own configuration; a session opened lower (a
        // downgraded i-parameter) cannot personalise.
        let min = self.config.personalisation_level;
        if level & min != min {
            return Err(StatusWord::SECURITY_NOT_SATISFIED);
        }
        self.card_usable()?;
        let instance = self.instance.as_mut().ok_or(StatusWord::NOT_FOUND)?;
        if instance.locked {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        Ok(instance.applet.process(
            cmd,
            ChannelContext::SecureChannel { level },
            &mut self.keygen,
        ))
    }

    fn install(&mut self, cmd: &Command) -> Outcome {
        self.card_usable()?;
        if cmd.p2 != 0 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let (elf, rest) = lv(&cmd.data)?;
        let (module, rest) = lv(rest)?;
        let (instance_aid, rest) = lv(rest)?;
        let (_privileges, rest) = lv(rest)?;
        let (params, rest) = lv(rest)?;
        let (_token, rest) = lv(rest)?;
        if !rest.is_empty() {
            return Err(StatusWord::WRONG_DATA);
        }
        match cmd.p1 {
            0x04 | 0x0C => {
                if elf != JPKI_ELF_AID || module != JPKI_MODULE_AID {
                    return Err(StatusWord::REF_DATA_NOT_FOUND);
                }
                if instance_aid != JPKI_AID {
                    return Err(StatusWord::WRONG_DATA);
                }
                if self.instance.is_some() {
                    return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
                }
                let config = self.install_params(params)?;
                self.instance = Some(Instance {
                    selectable: cmd.p1 == 0x0C,
                    locked: false,
                    applet: JpkiApplet::new(config),
                });
            }
            0x08 => {
                if instance_aid != JPKI_AID {
                    return Err(StatusWord::REF_DATA_NOT_FOUND);
                }
                let i = self
                    .instance
                    .as_mut()
                    .ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
                if i.selectable {
                    return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
                }
                i.selectable = true;
            }
            _ => return Err(StatusWord::WRONG_P1P2),
        }
        Ok(Response::ok(vec![0x00]))
    }

    /// Retry limits from the `C9` install parameters (R-PIN-RETRY), else the SE default.
    fn install_params(&self, params: &[u8]) -> Result<AppletConfig, StatusWord> {
        let objs = tlv::parse(params).map_err(|_| StatusWord::WRONG_DATA)?;
        match tlv::find(&objs, 0xC9) {
            None | Some([]) => Ok(self.config.applet),
            Some(&[a, s]) if (1..=15).contains(&a) && (1..=15).contains(&s) => Ok(AppletConfig {
                auth_max_tries: a,
                sign_max_tries: s,
            }),
            Some(_) => Err(StatusWord::WRONG_DATA),
        }
    }

    fn delete(&mut self, cmd: &Command) -> Outcome {
        self.card_usable()?;
        if cmd.p1 != 0 || (cmd.p2 != 0x00 && cmd.p2 != 0x80) {
            return Err(StatusWord::WRONG_P1P2);
        }
        let objs = tlv::parse(&cmd.data).map_err(|_| StatusWord::WRONG_DATA)?;
        let aid = match objs.as_slice() {
            [Tlv { tag: 0x4F, value }] => *value,
            _ => return Err(StatusWord::WRONG_DATA),
        };
        if aid == JPKI_AID {
            if self.instance.is_none() {
                return Err(StatusWord::REF_DATA_NOT_FOUND);
            }
            // R-DELETE / R-TRANSFER: keys, certificates and PINs go with the instance.
            self.close_applet_channels();
            self.instance = None;
            if cmd.p2 == 0x80 {
                self.rules.retain(|r| r.aid != JPKI_AID);
            }
            return Ok(Response::ok(vec![0x00]));
        }
        if aid == JPKI_ELF_AID || aid == ISD_AID || aid == APSD_AID {
            // The ELF is in ROM; security domains are not deletable here.
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        Err(StatusWord::REF_DATA_NOT_FOUND)
    }

    fn get_status(&mut self, sd: SdId, cmd: &Command) -> Outcome {
        if cmd.p2 != 0x02 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let objs = tlv::parse(&cmd.data).map_err(|_| StatusWord::WRONG_DATA)?;
        let prefix = tlv::find(&objs, 0x4F).ok_or(StatusWord::WRONG_DATA)?;
        let mut entries: Vec<StatusEntry> = Vec::new();
        match (cmd.p1, sd) {
            (0x80, SdId::Isd) => entries.push(entry(
                &ISD_AID,
                self.card.byte(),
                [0x9E, 0xFE, 0x80],
                vec![],
            )),
            (0x40, _) => {
                entries.push(entry(&APSD_AID, 0x0F, [0x80, 0x40, 0x00], vec![]));
                if let Some(i) = &self.instance {
                    entries.push(entry(
                        &JPKI_AID,
                        Self::app_life_cycle(i).byte(),
                        [0; 3],
                        vec![],
                    ));
                }
            }
            (0x20, SdId::Isd) => entries.push(entry(&JPKI_ELF_AID, 0x01, [0; 3], vec![])),
            (0x10, SdId::Isd) => entries.push(entry(
                &JPKI_ELF_AID,
                0x01,
                [0; 3],
                vec![JPKI_MODULE_AID.to_vec()],
            )),
            (0x80 | 0x20 | 0x10, SdId::Apsd) => return Err(StatusWord::SECURITY_NOT_SATISFIED),
            _ => return Err(StatusWord::WRONG_P1P2),
        }
        let mut out = Vec::new();
        for e in entries.into_iter().filter(|e| e.aid.starts_with(prefix)) {
            let mut inner = tlv::encode(0x4F, &e.aid);
            inner.extend(tlv::encode(0x9F70, &[e.life_cycle]));
            if cmd.p1 != 0x20 && cmd.p1 != 0x10 {
                inner.extend(tlv::encode(0xC5, &e.privileges));
            }
            for m in &e.modules {
                inner.extend(tlv::encode(0x84, m));
            }
            out.extend(tlv::encode(0xE3, &inner));
        }
        if out.is_empty() {
            return Err(StatusWord::REF_DATA_NOT_FOUND);
        }
        Ok(Response::ok(out))
    }

    fn set_status(&mut self, sd: SdId, cmd: &Command) -> Outcome {
        if self.card == CardLifeCycle::Terminated {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        match cmd.p1 {
            0x80 => {
                if sd != SdId::Isd {
                    return Err(StatusWord::SECURITY_NOT_SATISFIED);
                }
                let next = match (self.card, cmd.p2) {
                    (CardLifeCycle::Secured, 0x7F) => CardLifeCycle::CardLocked,
                    (CardLifeCycle::CardLocked, 0x0F) => CardLifeCycle::Secured,
                    (_, 0xFF) => CardLifeCycle::Terminated,
                    _ => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
                };
                if next != CardLifeCycle::Secured {
                    self.close_applet_channels();
                }
                self.card = next;
                Ok(Response::ok(Vec::new()))
            }
            0x40 => {
                self.card_usable()?;
                let objs = tlv::parse(&cmd.data).ok();
                let aid = match objs.as_deref() {
                    Some([Tlv { tag: 0x4F, value }]) => *value,
                    _ => cmd.data.as_slice(),
                };
                if aid != JPKI_AID {
                    return Err(StatusWord::REF_DATA_NOT_FOUND);
                }
                let lock = match cmd.p2 {
                    0x80..=0xFF => true,
                    0x00 => false,
                    _ => return Err(StatusWord::WRONG_P1P2),
                };
                let i = self
                    .instance
                    .as_mut()
                    .ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
                if i.locked == lock {
                    return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
                }
                i.locked = lock;
                if lock {
                    self.close_applet_channels();
                }
                Ok(Response::ok(Vec::new()))
            }
            _ => Err(StatusWord::WRONG_P1P2),
        }
    }

    /// Access rules (R-ACL) in the simplified GP SEAC form of the module doc.
    fn store_data(&mut self, cmd: &Command) -> Outcome {
        self.card_usable()?;
        if cmd.p1 & 0x80 == 0 || cmd.p2 != 0 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let objs = tlv::parse(&cmd.data).map_err(|_| StatusWord::WRONG_DATA)?;
        let [Tlv { tag, value }] = objs.as_slice() else {
            return Err(StatusWord::WRONG_DATA);
        };
        match *tag {
            0xF0 => {
                let (rule, allow) = parse_ref_ar_do(value)?;
                if allow {
                    self.rules.insert(rule);
                } else {
                    self.rules.remove(&rule);
                }
            }
            0xF1 if value.is_empty() => self.rules.clear(),
            0xF1 => {
                let (rule, _) = parse_ref_ar_do(value)?;
                if !self.rules.remove(&rule) {
                    return Err(StatusWord::REF_DATA_NOT_FOUND);
                }
            }
            _ => return Err(StatusWord::WRONG_DATA),
        }
        // R-ACL, THREAT-FAKE-APP: a removed grant takes effect at once.
        self.close_ungranted_channels();
        Ok(Response::ok(Vec::new()))
    }
}

/// `E2 { E1 { 4F AID, C1 hash } [E3 { D0 01 xx }] }` → the rule and whether it grants access.
fn parse_ref_ar_do(data: &[u8]) -> Result<(AccessRule, bool), StatusWord> {
    let bad = StatusWord::WRONG_DATA;
    let objs = tlv::parse(data).map_err(|_| bad)?;
    let [Tlv { tag: 0xE2, value }] = objs.as_slice() else {
        return Err(bad);
    };
    let inner = tlv::parse(value).map_err(|_| bad)?;
    let refdo = tlv::find(&inner, 0xE1).ok_or(bad)?;
    let refs = tlv::parse(refdo).map_err(|_| bad)?;
    let aid = tlv::find(&refs, 0x4F).ok_or(bad)?;
    let hash: [u8; 32] = tlv::find(&refs, 0xC1)
        .and_then(|h| h.try_into().ok())
        .ok_or(bad)?;
    if aid.is_empty() || aid.len() > 16 {
        return Err(bad);
    }
    let allow = match tlv::find(&inner, 0xE3) {
        None => true,
        Some(ar) => {
            let ar = tlv::parse(ar).map_err(|_| bad)?;
            match tlv::find(&ar, 0xD0) {
                Some([0x01]) => true,
                Some([0x00]) => false,
                _ => return Err(bad),
            }
        }
    };
    Ok((
        AccessRule {
            aid: aid.to_vec(),
            app_cert_hash: hash,
        },
        allow,
    ))
}
