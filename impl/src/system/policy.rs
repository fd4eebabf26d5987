//! The open design choices of the seeds, as configuration of the real system (ALT-* of
//! `shared/DOMAIN.md`). [`Policy::default`] is the seeds' design as this project reads it.
//! Alternatives that exist only on paper (SIM storage, biometrics, mailed access codes, key
//! generation at J-LIS) are not realised here; the model weighs them.

/// ALT-REVOKE-AUTH: what a revocation from the phone (R-REVOKE (a)) must show the SP-TSM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum RevokeAuth {
    /// Nothing beyond holding the phone with the genuine app: whoever holds it revokes.
    Nothing,
    /// The PIN of that credential: the applet verifies it and signs the SP-TSM's challenge
    /// with that credential's key; the SP-TSM checks the signature against the certificate
    /// being revoked (the default; the model's `pin`).
    #[default]
    Pin,
    /// The phone's signing key: the signing password verified and the SP-TSM's challenge
    /// signed with the phone's sign key, whose certificate must be the same person's and
    /// live on the same phone.
    PhoneSignature,
    /// The card signature of the credential's owner (000 §3(3)): the holder's card signs the
    /// revocation; the SP-TSM checks it names the owner and that the card cert is valid.
    Card,
}

/// ALT-RESET: what a factory reset does to the JPKI data in the SE (R-RESET).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ResetPolicy {
    /// The phone asks the server at the reset (004 課題2 対策): online, the SEI-TSM deletes
    /// the applet with its related objects over SCP03; offline the request cannot leave the
    /// phone and the SE keeps the applet (the app and its token go either way).
    #[default]
    Server,
    /// The OS wipes the SE's JPKI data itself, online or not.
    OsWipe,
}

/// How a relying party learns the status of a phone certificate when it verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum StatusCheck {
    /// An online status query to J-LIS (OCSP-like), at verification time.
    #[default]
    Query,
    /// A CRL fetched at verification time, its signature checked under the CA key; revoked
    /// and held (certificateHold) entries are refused.
    Crl,
}

/// What happens to the applet when its last credential is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum AppletDeletion {
    /// Revocation deletes the applet (000 §3(2)(3) 失効時にアプレットの削除): when a deletion
    /// leaves no key in it, the SEI-TSM deletes it with its related objects (GP DELETE
    /// `80 E4 00 80`); a later issuance has it installed again. A deletion that leaves the
    /// other kind's credential keeps the applet, which holds both.
    #[default]
    WhenEmpty,
    /// The emptied applet stays installed (the model before it deleted applets; kept for
    /// conformance until the model does).
    Never,
}

/// The design answers of one system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Policy {
    /// ALT-REVOKE-AUTH.
    pub revoke_auth: RevokeAuth,
    /// ALT-RESET.
    pub reset: ResetPolicy,
    /// ALT-SUSPEND: `true` (default) the call center suspends; `false` no suspension at all
    /// (a mislaid phone must be revoked; nothing is ever resumed).
    pub no_suspension: bool,
    /// How relying parties check status.
    pub status_check: StatusCheck,
    /// Revocation deletes the applet.
    pub applet_deletion: AppletDeletion,
    /// `false` (default): a deletion push for a certificate never written deletes the key that
    /// certificate certifies (R-DELETE). `true`: only a written certificate's credential goes,
    /// the key stays (the model before it deleted such keys; kept for conformance until the
    /// model does).
    pub keep_unwritten_keys: bool,
    /// `false` (default): the hand-over / disposal procedure is refused offline and without
    /// the app (it revokes and deletes through the servers: not done halfway). `true`: offline
    /// it does what it can, the factory reset alone.
    pub offline_procedure: bool,
    /// ALT-APPLET-STATUS: `true`, the phone stops a revoked key from signing: the signing key
    /// is gated at personalisation and signs once per grant the SP-TSM sends when the app,
    /// online, finds the certificate active (`tsm::status_gate`); the card-reader route and
    /// an offline phone make no signature with it (`StatusUnknown`). `false` (default): only
    /// relying parties check status.
    pub applet_status: bool,
}
