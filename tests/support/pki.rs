//! Test certificates (rcgen): a CA, a server and a client certificate it signs, and a second CA
//! nobody trusts.

#![allow(dead_code, reason = "each test file uses a different subset")]

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

/// PEM texts for one test PKI.
pub struct Pki {
    /// The CA certificate both sides trust.
    pub ca: String,
    /// Server certificate for `localhost` and 127.0.0.1, signed by the CA.
    pub server_cert: String,
    /// Its key.
    pub server_key: String,
    /// Client certificate signed by the CA.
    pub client_cert: String,
    /// Its key.
    pub client_key: String,
    /// A server certificate for the same names, signed by a CA nobody trusts.
    pub rogue_cert: String,
    /// Its key.
    pub rogue_key: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    /// A fresh PKI.
    pub fn new() -> Pki {
        let ca_issuer = ca("zvtran test CA");
        let rogue = ca("someone else's CA");
        let names = ["localhost", "127.0.0.1"];
        let (server_cert, server_key) =
            leaf(&ca_issuer, &names, ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) =
            leaf(&ca_issuer, &["client"], ExtendedKeyUsagePurpose::ClientAuth);
        let (rogue_cert, rogue_key) = leaf(&rogue, &names, ExtendedKeyUsagePurpose::ServerAuth);
        Pki {
            ca: ca_issuer.pem(),
            server_cert,
            server_key,
            client_cert,
            client_key,
            rogue_cert,
            rogue_key,
        }
    }
}
