// SPDX-License-Identifier: Apache-2.0
// Conformance checks of parsec-provider against parsec-interface 0.27.0, the
// reference Rust implementation of the Parsec wire protocol (Debian's
// librust-parsec-interface-dev).
//
//   parsec-conformance parse DIR
//       decodes the requests our C client wrote (test/conformance/capture_requests.c)
//       and checks each decodes to exactly the operation the C side meant.
//   parsec-conformance service SOCKET direct:APP|unix
//       drives a running parsecd with requests encoded by parsec-interface and
//       decodes its responses with parsec-interface.
//
// Prints "ok - ..." / "not ok - ..." lines; exits 1 if any check failed.

use std::collections::HashSet;
use std::fmt::Debug;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use parsec_interface::operations::psa_algorithm::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature, Cipher,
    Hash, RawKeyAgreement, SignHash,
};
use parsec_interface::operations::psa_key_attributes::{
    Attributes, EccFamily, Lifetime, Policy, Type, UsageFlags,
};
use parsec_interface::operations::{
    attest_key, can_do_crypto, delete_client, prepare_key_attestation, psa_aead_decrypt,
    psa_aead_encrypt, psa_cipher_decrypt, psa_cipher_encrypt, psa_sign_message,
    psa_verify_message, list_authenticators, list_clients, list_keys, list_opcodes,
    list_providers, ping, psa_asymmetric_decrypt, psa_asymmetric_encrypt, psa_destroy_key,
    psa_export_public_key, psa_generate_key, psa_generate_random, psa_sign_hash,
    psa_verify_hash, Convert, NativeOperation, NativeResult,
};
use parsec_interface::operations_protobuf::ProtobufConverter;
use parsec_interface::requests::request::{Request, RequestAuth, RequestHeader};
use parsec_interface::requests::{
    AuthType, BodyType, Opcode, ProviderId, Response, ResponseStatus,
};
use parsec_interface::secrecy::ExposeSecret;
use zeroize::Zeroizing;

const APP_NAME: &str = "conformance-app";

struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    fn check(&mut self, desc: &str, ok: bool) -> bool {
        if ok {
            self.passed += 1;
            println!("ok - {}", desc);
        } else {
            self.failed += 1;
            println!("not ok - {}", desc);
        }
        ok
    }

    fn check_eq<T: PartialEq + Debug>(&mut self, desc: &str, got: T, want: T) -> bool {
        let ok = got == want;
        if !ok {
            println!("# {}: got {:?}, expected {:?}", desc, got, want);
        }
        self.check(desc, ok)
    }
}

// Usage flags as the C side's PARSEC_USAGE_* bits, so expectations read like the C code.
const U_EXPORT: u32 = 1 << 0;
const U_ENCRYPT: u32 = 1 << 3;
const U_DECRYPT: u32 = 1 << 4;
const U_SIGN_MESSAGE: u32 = 1 << 5;
const U_VERIFY_MESSAGE: u32 = 1 << 6;
const U_SIGN_HASH: u32 = 1 << 7;
const U_VERIFY_HASH: u32 = 1 << 8;
const U_DERIVE: u32 = 1 << 9;
const U_SIGN: u32 = U_SIGN_HASH | U_VERIFY_HASH | U_SIGN_MESSAGE | U_VERIFY_MESSAGE;

fn usage_bits(u: &UsageFlags) -> u32 {
    let flags = [
        u.export(),
        u.copy(),
        u.cache(),
        u.encrypt(),
        u.decrypt(),
        u.sign_message(),
        u.verify_message(),
        u.sign_hash(),
        u.verify_hash(),
        u.derive(),
    ];
    flags
        .iter()
        .enumerate()
        .fold(0, |acc, (i, f)| if *f { acc | (1 << i) } else { acc })
}

fn usage_from_bits(bits: u32) -> UsageFlags {
    let mut u = UsageFlags::default();
    if bits & U_EXPORT != 0 {
        let _ = u.set_export();
    }
    if bits & U_ENCRYPT != 0 {
        let _ = u.set_encrypt();
    }
    if bits & U_DECRYPT != 0 {
        let _ = u.set_decrypt();
    }
    if bits & U_SIGN_MESSAGE != 0 {
        let _ = u.set_sign_message();
    }
    if bits & U_VERIFY_MESSAGE != 0 {
        let _ = u.set_verify_message();
    }
    if bits & U_SIGN_HASH != 0 {
        let _ = u.set_sign_hash();
    }
    if bits & U_VERIFY_HASH != 0 {
        let _ = u.set_verify_hash();
    }
    if bits & U_DERIVE != 0 {
        let _ = u.set_derive();
    }
    u
}

fn attributes(key_type: Type, bits: usize, usage: u32, alg: Algorithm) -> Attributes {
    Attributes {
        lifetime: Lifetime::Persistent,
        key_type,
        bits,
        policy: Policy {
            usage_flags: usage_from_bits(usage),
            permitted_algorithms: alg,
        },
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

// ---------------------------------------------------------------------------
// parse: requests produced by the C client

struct Capture {
    header: RequestHeader,
    auth: Vec<u8>,
    op: NativeOperation,
}

fn read_capture(dir: &Path, name: &str) -> Result<Capture, String> {
    let path = dir.join(format!("{}.bin", name));
    let mut file = File::open(&path).map_err(|e| format!("{}: {}", path.display(), e))?;
    let req = Request::read_from_stream(&mut file, 1 << 20)
        .map_err(|s| format!("Request::read_from_stream: {:?}", s))?;
    let mut rest = Vec::new();
    let _ = file.read_to_end(&mut rest);
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes after the request", rest.len()));
    }
    let Request { header, body, auth } = req;
    let auth = auth.buffer.expose_secret().clone();
    let op = ProtobufConverter {}
        .body_to_operation(body, header.opcode)
        .map_err(|s| format!("body_to_operation: {:?}", s))?;
    Ok(Capture { header, auth, op })
}

fn check_header(r: &mut Report, name: &str, c: &Capture, provider: ProviderId, direct: bool) {
    r.check_eq(&format!("{}: provider", name), c.header.provider, provider);
    r.check_eq(&format!("{}: session", name), c.header.session, 0);
    r.check_eq(&format!("{}: content type", name), c.header.content_type, BodyType::Protobuf);
    r.check_eq(&format!("{}: accept type", name), c.header.accept_type, BodyType::Protobuf);
    if direct {
        r.check_eq(&format!("{}: auth type", name), c.header.auth_type, AuthType::Direct);
        r.check_eq(&format!("{}: app name", name), c.auth.as_slice(), APP_NAME.as_bytes());
    }
}

fn parse_captures(dir: &Path) -> Report {
    let mut r = Report { passed: 0, failed: 0 };
    let sign_pss = Algorithm::AsymmetricSignature(AsymmetricSignature::RsaPss {
        hash_alg: SignHash::Specific(Hash::Sha256),
    });
    let ecdsa_any = Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Any,
    });
    let pkcs1_384 = Algorithm::AsymmetricSignature(AsymmetricSignature::RsaPkcs1v15Sign {
        hash_alg: SignHash::Specific(Hash::Sha384),
    });

    let names = [
        "ping",
        "list_providers",
        "list_authenticators",
        "list_opcodes",
        "list_keys",
        "list_clients",
        "delete_client",
        "generate_key_rsa_pss",
        "generate_key_ecc",
        "generate_key_no_flags",
        "import_key",
        "export_public_key",
        "export_key",
        "destroy_key",
        "sign_hash",
        "verify_hash",
        "asymmetric_encrypt",
        "asymmetric_decrypt",
        "raw_key_agreement",
        "generate_random",
        "hash_compute",
        "hash_compare",
        "can_do_crypto",
        "generate_key_aes",
        "aead_encrypt",
        "aead_decrypt",
        "sign_message",
        "verify_message",
        "prepare_key_attestation",
        "attest_key",
        "cipher_encrypt",
        "cipher_decrypt",
        "sign_hash_unix_peer",
    ];
    for name in names.iter() {
        let c = match read_capture(dir, name) {
            Ok(c) => c,
            Err(e) => {
                println!("# {}", e);
                r.check(&format!("{}: parsec-interface decodes the request", name), false);
                continue;
            }
        };
        r.check(&format!("{}: parsec-interface decodes the request", name), true);
        let core = ProviderId::Core;
        let mbed = ProviderId::MbedCrypto;
        match (*name, &c.op) {
            ("ping", NativeOperation::Ping(_)) => {
                check_header(&mut r, name, &c, core, false);
                r.check_eq("ping: no authentication", c.header.auth_type, AuthType::NoAuth);
                r.check("ping: empty auth field", c.auth.is_empty());
            }
            ("list_providers", NativeOperation::ListProviders(_))
            | ("list_authenticators", NativeOperation::ListAuthenticators(_))
            | ("list_keys", NativeOperation::ListKeys(_))
            | ("list_clients", NativeOperation::ListClients(_)) => {
                check_header(&mut r, name, &c, core, true)
            }
            ("list_opcodes", NativeOperation::ListOpcodes(op)) => {
                check_header(&mut r, name, &c, core, true);
                r.check_eq("list_opcodes: provider asked", op.provider_id, mbed);
            }
            ("delete_client", NativeOperation::DeleteClient(op)) => {
                check_header(&mut r, name, &c, core, true);
                r.check_eq("delete_client: client", op.client.as_str(), "victim");
            }
            ("generate_key_rsa_pss", NativeOperation::PsaGenerateKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("generate_key_rsa_pss: name", op.key_name.as_str(), "rsa-pss");
                r.check_eq(
                    "generate_key_rsa_pss: attributes",
                    op.attributes,
                    attributes(Type::RsaKeyPair, 2048, U_SIGN, sign_pss),
                );
            }
            ("generate_key_ecc", NativeOperation::PsaGenerateKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("generate_key_ecc: name", op.key_name.as_str(), "ec");
                r.check_eq(
                    "generate_key_ecc: attributes (SECP_R1 384, wildcard ECDSA)",
                    op.attributes,
                    attributes(
                        Type::EccKeyPair { curve_family: EccFamily::SecpR1 },
                        384,
                        U_SIGN | U_EXPORT,
                        ecdsa_any,
                    ),
                );
            }
            ("generate_key_no_flags", NativeOperation::PsaGenerateKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq(
                    "generate_key_no_flags: empty usage flags and Algorithm::None accepted",
                    op.attributes,
                    attributes(Type::RsaKeyPair, 2048, 0, Algorithm::None),
                );
            }
            ("import_key", NativeOperation::PsaImportKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("import_key: name", op.key_name.as_str(), "imp");
                r.check_eq("import_key: key type", op.attributes.key_type, Type::RsaPublicKey);
                r.check_eq("import_key: bits", op.attributes.bits, 0);
                // parsec-interface's decoder sets verify_message along with verify_hash
                // (UsageFlags::set_verify_hash); nothing else may appear.
                r.check_eq(
                    "import_key: usage is verify_hash only",
                    usage_bits(&op.attributes.policy.usage_flags),
                    U_VERIFY_HASH | U_VERIFY_MESSAGE,
                );
                r.check_eq(
                    "import_key: policy",
                    op.attributes.policy.permitted_algorithms,
                    pkcs1_384,
                );
                r.check_eq("import_key: data", op.data.expose_secret().clone(), pattern(16, 1));
            }
            ("export_public_key", NativeOperation::PsaExportPublicKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("export_public_key: name", op.key_name.as_str(), "ec");
            }
            ("export_key", NativeOperation::PsaExportKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("export_key: name", op.key_name.as_str(), "ec");
            }
            ("destroy_key", NativeOperation::PsaDestroyKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("destroy_key: name", op.key_name.as_str(), "bare");
            }
            ("sign_hash", NativeOperation::PsaSignHash(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("sign_hash: name", op.key_name.as_str(), "ec");
                r.check_eq(
                    "sign_hash: alg",
                    op.alg,
                    AsymmetricSignature::Ecdsa { hash_alg: SignHash::Specific(Hash::Sha256) },
                );
                r.check_eq("sign_hash: hash", op.hash.to_vec(), pattern(32, 0x20));
            }
            ("verify_hash", NativeOperation::PsaVerifyHash(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("verify_hash: hash", op.hash.to_vec(), pattern(32, 0x20));
                r.check_eq("verify_hash: signature", op.signature.to_vec(), pattern(64, 0x80));
            }
            ("asymmetric_encrypt", NativeOperation::PsaAsymmetricEncrypt(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq(
                    "asymmetric_encrypt: alg",
                    op.alg,
                    AsymmetricEncryption::RsaOaep { hash_alg: Hash::Sha256 },
                );
                r.check_eq("asymmetric_encrypt: plaintext", op.plaintext.to_vec(), b"hello".to_vec());
                r.check_eq(
                    "asymmetric_encrypt: salt",
                    op.salt.as_ref().map(|s| s.to_vec()),
                    Some(b"label".to_vec()),
                );
            }
            ("asymmetric_decrypt", NativeOperation::PsaAsymmetricDecrypt(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("asymmetric_decrypt: alg", op.alg, AsymmetricEncryption::RsaPkcs1v15Crypt);
                r.check_eq("asymmetric_decrypt: ciphertext", op.ciphertext.to_vec(), pattern(256, 3));
                r.check("asymmetric_decrypt: no salt", op.salt.is_none());
            }
            ("raw_key_agreement", NativeOperation::PsaRawKeyAgreement(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                let mut peer = pattern(65, 4);
                peer[0] = 4;
                r.check_eq("raw_key_agreement: alg", op.alg, RawKeyAgreement::Ecdh);
                r.check_eq("raw_key_agreement: key", op.private_key_name.as_str(), "ec-dh");
                r.check_eq("raw_key_agreement: peer", op.peer_key.to_vec(), peer);
            }
            ("generate_random", NativeOperation::PsaGenerateRandom(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("generate_random: size", op.size, 48);
            }
            ("hash_compute", NativeOperation::PsaHashCompute(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("hash_compute: alg", op.alg, Hash::Sha512);
                r.check_eq("hash_compute: input", op.input.to_vec(), b"abc".to_vec());
            }
            ("hash_compare", NativeOperation::PsaHashCompare(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("hash_compare: alg", op.alg, Hash::Sha256);
                r.check_eq("hash_compare: hash", op.hash.to_vec(), pattern(32, 0x40));
            }
            ("can_do_crypto", NativeOperation::CanDoCrypto(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq(
                    "can_do_crypto: check type",
                    op.check_type,
                    can_do_crypto::CheckType::Generate,
                );
                r.check_eq(
                    "can_do_crypto: attributes",
                    op.attributes,
                    attributes(
                        Type::EccKeyPair { curve_family: EccFamily::SecpR1 },
                        256,
                        U_DERIVE,
                        Algorithm::KeyAgreement(
                            parsec_interface::operations::psa_algorithm::KeyAgreement::Raw(
                                RawKeyAgreement::Ecdh,
                            ),
                        ),
                    ),
                );
            }
            ("generate_key_aes", NativeOperation::PsaGenerateKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq(
                    "generate_key_aes: attributes (AES-256, GCM)",
                    op.attributes,
                    attributes(
                        Type::Aes,
                        256,
                        U_ENCRYPT | U_DECRYPT,
                        Algorithm::Aead(Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm)),
                    ),
                );
            }
            ("aead_encrypt", NativeOperation::PsaAeadEncrypt(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("aead_encrypt: name", op.key_name.as_str(), "aes");
                r.check_eq("aead_encrypt: alg", op.alg, Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm));
                r.check_eq("aead_encrypt: nonce", op.nonce.to_vec(), pattern(12, 0x50));
                r.check_eq("aead_encrypt: additional data", op.additional_data.to_vec(), pattern(5, 0x60));
                r.check_eq("aead_encrypt: plaintext", op.plaintext.to_vec(), pattern(40, 0x70));
            }
            ("aead_decrypt", NativeOperation::PsaAeadDecrypt(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq(
                    "aead_decrypt: alg (CCM, 8-byte tag)",
                    op.alg,
                    Aead::AeadWithShortenedTag { aead_alg: AeadWithDefaultLengthTag::Ccm, tag_length: 8 },
                );
                r.check_eq("aead_decrypt: nonce", op.nonce.to_vec(), pattern(11, 0x50));
                r.check("aead_decrypt: no additional data", op.additional_data.is_empty());
                r.check_eq("aead_decrypt: ciphertext", op.ciphertext.to_vec(), pattern(40, 0x70));
            }
            ("sign_message", NativeOperation::PsaSignMessage(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("sign_message: name", op.key_name.as_str(), "rsa");
                r.check_eq(
                    "sign_message: alg",
                    op.alg,
                    AsymmetricSignature::RsaPkcs1v15Sign { hash_alg: SignHash::Specific(Hash::Sha256) },
                );
                r.check_eq("sign_message: message", op.message.to_vec(), pattern(7, 0x70));
            }
            ("verify_message", NativeOperation::PsaVerifyMessage(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("verify_message: message", op.message.to_vec(), pattern(7, 0x70));
                r.check_eq("verify_message: signature", op.signature.to_vec(), pattern(32, 0x78));
            }
            ("prepare_key_attestation", NativeOperation::PrepareKeyAttestation(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                #[allow(unreachable_patterns)]
                match op {
                    prepare_key_attestation::Operation::ActivateCredential { attested_key_name, attesting_key_name } => {
                        r.check_eq("prepare_key_attestation: attested key", attested_key_name.as_str(), "att");
                        r.check_eq("prepare_key_attestation: default attesting key", attesting_key_name.clone(), None);
                    }
                    _ => {
                        r.check("prepare_key_attestation: ActivateCredential mechanism", false);
                    }
                }
            }
            ("attest_key", NativeOperation::AttestKey(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                #[allow(unreachable_patterns)]
                match op {
                    attest_key::Operation::ActivateCredential { attested_key_name, attesting_key_name, credential_blob, secret } => {
                        r.check_eq("attest_key: attested key", attested_key_name.as_str(), "att");
                        r.check_eq("attest_key: default attesting key", attesting_key_name.clone(), None);
                        r.check_eq("attest_key: credential blob", credential_blob.to_vec(), pattern(20, 0x70));
                        r.check_eq("attest_key: secret", secret.to_vec(), pattern(20, 0x84));
                    }
                    _ => {
                        r.check("attest_key: ActivateCredential mechanism", false);
                    }
                }
            }
            ("cipher_encrypt", NativeOperation::PsaCipherEncrypt(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("cipher_encrypt: name", op.key_name.as_str(), "aes");
                r.check_eq("cipher_encrypt: alg", op.alg, Cipher::Ctr);
                r.check_eq("cipher_encrypt: plaintext", op.plaintext.to_vec(), pattern(9, 0x90));
            }
            ("cipher_decrypt", NativeOperation::PsaCipherDecrypt(op)) => {
                check_header(&mut r, name, &c, mbed, true);
                r.check_eq("cipher_decrypt: name", op.key_name.as_str(), "chacha");
                r.check_eq("cipher_decrypt: alg", op.alg, Cipher::StreamCipher);
                r.check_eq("cipher_decrypt: ciphertext", op.ciphertext.to_vec(), pattern(28, 0x90));
            }
            ("sign_hash_unix_peer", NativeOperation::PsaSignHash(op)) => {
                check_header(&mut r, name, &c, mbed, false);
                let uid = unsafe { libc::getuid() };
                r.check_eq(
                    "sign_hash_unix_peer: auth type",
                    c.header.auth_type,
                    AuthType::UnixPeerCredentials,
                );
                r.check_eq(
                    "sign_hash_unix_peer: auth is the uid, u32 little-endian",
                    c.auth.clone(),
                    uid.to_le_bytes().to_vec(),
                );
                r.check_eq(
                    "sign_hash_unix_peer: alg",
                    op.alg,
                    AsymmetricSignature::RsaPss { hash_alg: SignHash::Specific(Hash::Sha256) },
                );
            }
            (_, op) => {
                println!("# {}: decoded as {:?}", name, op.opcode());
                r.check(&format!("{}: decodes to the expected operation", name), false);
            }
        }
    }
    r
}

// ---------------------------------------------------------------------------
// service: drive a running parsecd

enum Auth {
    None,
    Direct(String),
    Unix,
}

struct Service {
    socket: String,
    auth: Auth,
}

impl Service {
    fn raw_exchange(&self, bytes: &[u8]) -> Result<Response, String> {
        let mut s = UnixStream::connect(&self.socket).map_err(|e| format!("connect: {}", e))?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = s.set_write_timeout(Some(Duration::from_secs(30)));
        s.write_all(bytes).map_err(|e| format!("write: {}", e))?;
        Response::read_from_stream(&mut s, 1 << 24).map_err(|e| format!("read response: {:?}", e))
    }

    fn call_as(
        &self,
        auth: &Auth,
        provider: ProviderId,
        op: NativeOperation,
    ) -> Result<NativeResult, ResponseStatus> {
        let conv = ProtobufConverter {};
        let opcode = op.opcode();
        let body = conv.operation_to_body(op)?;
        let (auth_type, auth_bytes) = match auth {
            Auth::None => (AuthType::NoAuth, Vec::new()),
            Auth::Direct(name) => (AuthType::Direct, name.as_bytes().to_vec()),
            Auth::Unix => (
                AuthType::UnixPeerCredentials,
                unsafe { libc::getuid() }.to_le_bytes().to_vec(),
            ),
        };
        let req = Request {
            header: RequestHeader {
                provider,
                session: 0,
                content_type: BodyType::Protobuf,
                accept_type: BodyType::Protobuf,
                auth_type,
                opcode,
            },
            body,
            auth: RequestAuth::new(auth_bytes),
        };
        let mut s = UnixStream::connect(&self.socket).map_err(|_| ResponseStatus::ConnectionError)?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = s.set_write_timeout(Some(Duration::from_secs(30)));
        req.write_to_stream(&mut s)?;
        let resp = Response::read_from_stream(&mut s, 1 << 24)?;
        if resp.header.status != ResponseStatus::Success {
            return Err(resp.header.status);
        }
        // A successful response mirrors the request header.
        if resp.header.opcode != opcode || resp.header.provider != provider {
            println!(
                "# response header {:?}/{:?} does not mirror request {:?}/{:?}",
                resp.header.opcode, resp.header.provider, opcode, provider
            );
            return Err(ResponseStatus::InvalidEncoding);
        }
        conv.body_to_result(resp.body, opcode)
    }

    fn call(&self, provider: ProviderId, op: NativeOperation) -> Result<NativeResult, ResponseStatus> {
        self.call_as(&self.auth, provider, op)
    }
}

fn expect_status<T: Debug>(r: &mut Report, desc: &str, got: Result<T, ResponseStatus>, want: ResponseStatus) {
    match got {
        Ok(v) => {
            println!("# {}: succeeded with {:?}, expected {:?}", desc, v, want);
            r.check(desc, false);
        }
        Err(s) => {
            let _ = r.check_eq(desc, s, want);
        }
    }
}

fn raw_header(magic: u32, hdr_size: u16, maj: u8, min: u8, provider: u8, opcode: u32, reserved: u8) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&magic.to_le_bytes());
    v.extend_from_slice(&hdr_size.to_le_bytes());
    v.push(maj);
    v.push(min);
    v.extend_from_slice(&0u16.to_le_bytes());
    v.push(provider);
    v.extend_from_slice(&0u64.to_le_bytes());
    v.push(0); // content type
    v.push(0); // accept type
    v.push(0); // auth type
    v.extend_from_slice(&0u32.to_le_bytes()); // body len
    v.extend_from_slice(&0u16.to_le_bytes()); // auth len
    v.extend_from_slice(&opcode.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v.push(reserved);
    v.push(0);
    v
}

fn drive_service(svc: &Service, expect_auth: AuthType) -> Report {
    let mut r = Report { passed: 0, failed: 0 };

    // --- core operations
    match svc.call_as(&Auth::None, ProviderId::Core, NativeOperation::Ping(ping::Operation {})) {
        Ok(NativeResult::Ping(res)) => {
            r.check_eq("Ping: wire protocol 1.0", (res.wire_protocol_version_maj, res.wire_protocol_version_min), (1, 0));
        }
        other => {
            println!("# Ping: {:?}", other.map(|x| x.opcode()));
            r.check("Ping: wire protocol 1.0", false);
        }
    }

    let mut crypto_provider = ProviderId::MbedCrypto;
    match svc.call(ProviderId::Core, NativeOperation::ListProviders(list_providers::Operation {})) {
        Ok(NativeResult::ListProviders(res)) => {
            let ids: Vec<ProviderId> = res.providers.iter().map(|p| p.id).collect();
            r.check("ListProviders: decodes (UUIDs, IDs valid)", true);
            r.check("ListProviders: at least one crypto provider and Core", ids.len() >= 2);
            r.check_eq("ListProviders: Core is last", ids.last().copied(), Some(ProviderId::Core));
            if let Some(first) = ids.first() {
                crypto_provider = *first;
                r.check("ListProviders: first entry is a crypto provider", *first != ProviderId::Core);
            }
            let unique: HashSet<ProviderId> = ids.iter().copied().collect();
            r.check_eq("ListProviders: no duplicate IDs", unique.len(), ids.len());
        }
        other => {
            println!("# ListProviders: {:?}", other.map(|x| x.opcode()));
            r.check("ListProviders: decodes (UUIDs, IDs valid)", false);
        }
    }

    match svc.call(ProviderId::Core, NativeOperation::ListAuthenticators(list_authenticators::Operation {})) {
        Ok(NativeResult::ListAuthenticators(res)) => {
            let ids: Vec<AuthType> = res.authenticators.iter().map(|a| a.id).collect();
            r.check_eq("ListAuthenticators: exactly the configured authenticator", ids, vec![expect_auth]);
        }
        other => {
            println!("# ListAuthenticators: {:?}", other.map(|x| x.opcode()));
            r.check("ListAuthenticators: exactly the configured authenticator", false);
        }
    }

    match svc.call(ProviderId::Core, NativeOperation::ListOpcodes(list_opcodes::Operation { provider_id: ProviderId::Core })) {
        Ok(NativeResult::ListOpcodes(res)) => {
            for op in [Opcode::Ping, Opcode::ListProviders, Opcode::ListOpcodes, Opcode::ListAuthenticators, Opcode::ListKeys].iter() {
                r.check(&format!("ListOpcodes(Core): lists {:?}", op), res.opcodes.contains(op));
            }
        }
        other => {
            println!("# ListOpcodes(Core): {:?}", other.map(|x| x.opcode()));
            r.check("ListOpcodes(Core): decodes (only known opcodes)", false);
        }
    }
    match svc.call(ProviderId::Core, NativeOperation::ListOpcodes(list_opcodes::Operation { provider_id: crypto_provider })) {
        Ok(NativeResult::ListOpcodes(res)) => {
            for op in [Opcode::PsaGenerateKey, Opcode::PsaDestroyKey, Opcode::PsaSignHash, Opcode::PsaVerifyHash,
                       Opcode::PsaExportPublicKey, Opcode::PsaAsymmetricEncrypt, Opcode::PsaAsymmetricDecrypt,
                       Opcode::PsaGenerateRandom].iter() {
                r.check(&format!("ListOpcodes(default provider): lists {:?}", op), res.opcodes.contains(op));
            }
            r.check("ListOpcodes(default provider): no core opcodes", !res.opcodes.contains(&Opcode::Ping));
        }
        other => {
            println!("# ListOpcodes(default): {:?}", other.map(|x| x.opcode()));
            r.check("ListOpcodes(default provider): decodes (only known opcodes)", false);
        }
    }
    // An unconfigured but valid provider ID.
    let unconfigured = [ProviderId::TrustedService, ProviderId::CryptoAuthLib]
        .iter()
        .copied()
        .find(|p| *p != crypto_provider)
        .unwrap_or(ProviderId::CryptoAuthLib);
    expect_status(
        &mut r,
        "ListOpcodes for an unconfigured provider: ProviderNotRegistered",
        svc.call(ProviderId::Core, NativeOperation::ListOpcodes(list_opcodes::Operation { provider_id: unconfigured })),
        ResponseStatus::ProviderNotRegistered,
    );

    // --- keys: ECDSA P-256
    let ec_name = "conformance-ec".to_string();
    let rsa_name = "conformance-rsa".to_string();
    let pss_name = "conformance-pss".to_string();
    // Leftovers from an interrupted run must not fail the test.
    for name in [&ec_name, &rsa_name, &pss_name].iter() {
        let _ = svc.call(crypto_provider, NativeOperation::PsaDestroyKey(psa_destroy_key::Operation { key_name: name.to_string() }));
    }
    let ec_attrs = attributes(
        Type::EccKeyPair { curve_family: EccFamily::SecpR1 },
        256,
        U_SIGN,
        Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa { hash_alg: SignHash::Specific(Hash::Sha256) }),
    );
    let gen_ec = || NativeOperation::PsaGenerateKey(psa_generate_key::Operation { key_name: ec_name.clone(), attributes: ec_attrs });
    let ok = svc.call(crypto_provider, gen_ec()).is_ok();
    r.check("PsaGenerateKey: ECDSA P-256 SHA-256", ok);
    expect_status(&mut r, "PsaGenerateKey again: PsaErrorAlreadyExists", svc.call(crypto_provider, gen_ec()), ResponseStatus::PsaErrorAlreadyExists);
    expect_status(
        &mut r,
        "PsaGenerateKey without authentication: NotAuthenticated",
        svc.call_as(&Auth::None, crypto_provider, NativeOperation::PsaGenerateKey(psa_generate_key::Operation { key_name: "unauth".into(), attributes: ec_attrs })),
        ResponseStatus::NotAuthenticated,
    );
    expect_status(
        &mut r,
        "crypto operation sent to Core: PsaErrorNotSupported",
        svc.call(ProviderId::Core, NativeOperation::PsaGenerateKey(psa_generate_key::Operation { key_name: "core".into(), attributes: ec_attrs })),
        ResponseStatus::PsaErrorNotSupported,
    );

    match svc.call(ProviderId::Core, NativeOperation::ListKeys(list_keys::Operation {})) {
        Ok(NativeResult::ListKeys(res)) => {
            let k = res.keys.iter().find(|k| k.name == ec_name);
            r.check("ListKeys: lists the new key", k.is_some());
            if let Some(k) = k {
                r.check_eq("ListKeys: key's provider", k.provider_id, crypto_provider);
                r.check_eq("ListKeys: key's attributes as generated", k.attributes, ec_attrs);
            }
        }
        other => {
            println!("# ListKeys: {:?}", other.map(|x| x.opcode()));
            r.check("ListKeys: lists the new key", false);
        }
    }

    match svc.call(crypto_provider, NativeOperation::PsaExportPublicKey(psa_export_public_key::Operation { key_name: ec_name.clone() })) {
        Ok(NativeResult::PsaExportPublicKey(res)) => {
            r.check_eq("PsaExportPublicKey: uncompressed P-256 point (65 bytes)", res.data.len(), 65);
            r.check_eq("PsaExportPublicKey: starts with 04", res.data.first().copied(), Some(4u8));
        }
        other => {
            println!("# PsaExportPublicKey: {:?}", other.map(|x| x.opcode()));
            r.check("PsaExportPublicKey: uncompressed P-256 point (65 bytes)", false);
        }
    }

    let ecdsa = AsymmetricSignature::Ecdsa { hash_alg: SignHash::Specific(Hash::Sha256) };
    let hash = Zeroizing::new(pattern(32, 0x31));
    let mut signature = Vec::new();
    match svc.call(crypto_provider, NativeOperation::PsaSignHash(psa_sign_hash::Operation { key_name: ec_name.clone(), alg: ecdsa, hash: hash.clone() })) {
        Ok(NativeResult::PsaSignHash(res)) => {
            signature = res.signature.to_vec();
            r.check_eq("PsaSignHash: ECDSA P-256 signature is r||s (64 bytes)", signature.len(), 64);
        }
        other => {
            println!("# PsaSignHash: {:?}", other.map(|x| x.opcode()));
            r.check("PsaSignHash: ECDSA P-256 signature is r||s (64 bytes)", false);
        }
    }
    let verify = |sig: Vec<u8>| {
        NativeOperation::PsaVerifyHash(psa_verify_hash::Operation { key_name: ec_name.clone(), alg: ecdsa, hash: hash.clone(), signature: Zeroizing::new(sig) })
    };
    r.check("PsaVerifyHash: the signature verifies", svc.call(crypto_provider, verify(signature.clone())).is_ok());
    let mut bad = signature.clone();
    if let Some(b) = bad.get_mut(10) {
        *b ^= 0x01;
    }
    expect_status(&mut r, "PsaVerifyHash: altered signature is PsaErrorInvalidSignature", svc.call(crypto_provider, verify(bad)), ResponseStatus::PsaErrorInvalidSignature);
    expect_status(
        &mut r,
        "PsaSignHash: wrong hash length is PsaErrorInvalidArgument",
        svc.call(crypto_provider, NativeOperation::PsaSignHash(psa_sign_hash::Operation { key_name: ec_name.clone(), alg: ecdsa, hash: Zeroizing::new(pattern(31, 0)) })),
        ResponseStatus::PsaErrorInvalidArgument,
    );
    expect_status(
        &mut r,
        "PsaSignHash: algorithm outside the key's policy is PsaErrorNotPermitted",
        svc.call(crypto_provider, NativeOperation::PsaSignHash(psa_sign_hash::Operation {
            key_name: ec_name.clone(),
            alg: AsymmetricSignature::Ecdsa { hash_alg: SignHash::Specific(Hash::Sha384) },
            hash: Zeroizing::new(pattern(48, 0)),
        })),
        ResponseStatus::PsaErrorNotPermitted,
    );
    expect_status(
        &mut r,
        "PsaSignHash: unknown key is PsaErrorDoesNotExist",
        svc.call(crypto_provider, NativeOperation::PsaSignHash(psa_sign_hash::Operation { key_name: "no-such-key".into(), alg: ecdsa, hash: hash.clone() })),
        ResponseStatus::PsaErrorDoesNotExist,
    );

    // --- RSA encryption (PKCS#1 v1.5) and RSA-PSS signing
    let rsa_attrs = attributes(Type::RsaKeyPair, 2048, U_ENCRYPT | U_DECRYPT, Algorithm::AsymmetricEncryption(AsymmetricEncryption::RsaPkcs1v15Crypt));
    r.check(
        "PsaGenerateKey: RSA 2048 PKCS#1 v1.5 encryption",
        svc.call(crypto_provider, NativeOperation::PsaGenerateKey(psa_generate_key::Operation { key_name: rsa_name.clone(), attributes: rsa_attrs })).is_ok(),
    );
    match svc.call(crypto_provider, NativeOperation::PsaExportPublicKey(psa_export_public_key::Operation { key_name: rsa_name.clone() })) {
        Ok(NativeResult::PsaExportPublicKey(res)) => {
            r.check_eq("PsaExportPublicKey: RSA is a DER SEQUENCE (RSAPublicKey)", res.data.first().copied(), Some(0x30u8));
        }
        other => {
            println!("# PsaExportPublicKey RSA: {:?}", other.map(|x| x.opcode()));
            r.check("PsaExportPublicKey: RSA is a DER SEQUENCE (RSAPublicKey)", false);
        }
    }
    let mut ciphertext = Vec::new();
    match svc.call(crypto_provider, NativeOperation::PsaAsymmetricEncrypt(psa_asymmetric_encrypt::Operation {
        key_name: rsa_name.clone(),
        alg: AsymmetricEncryption::RsaPkcs1v15Crypt,
        plaintext: Zeroizing::new(b"conformance".to_vec()),
        salt: None,
    })) {
        Ok(NativeResult::PsaAsymmetricEncrypt(res)) => {
            ciphertext = res.ciphertext.to_vec();
            r.check_eq("PsaAsymmetricEncrypt: ciphertext is the modulus size", ciphertext.len(), 256);
        }
        other => {
            println!("# PsaAsymmetricEncrypt: {:?}", other.map(|x| x.opcode()));
            r.check("PsaAsymmetricEncrypt: ciphertext is the modulus size", false);
        }
    }
    match svc.call(crypto_provider, NativeOperation::PsaAsymmetricDecrypt(psa_asymmetric_decrypt::Operation {
        key_name: rsa_name.clone(),
        alg: AsymmetricEncryption::RsaPkcs1v15Crypt,
        ciphertext: Zeroizing::new(ciphertext),
        salt: None,
    })) {
        Ok(NativeResult::PsaAsymmetricDecrypt(res)) => {
            r.check_eq("PsaAsymmetricDecrypt: round trip", res.plaintext.to_vec(), b"conformance".to_vec());
        }
        other => {
            println!("# PsaAsymmetricDecrypt: {:?}", other.map(|x| x.opcode()));
            r.check("PsaAsymmetricDecrypt: round trip", false);
        }
    }
    expect_status(
        &mut r,
        "PsaAsymmetricEncrypt: OAEP on a PKCS#1 v1.5 key is PsaErrorNotPermitted",
        svc.call(crypto_provider, NativeOperation::PsaAsymmetricEncrypt(psa_asymmetric_encrypt::Operation {
            key_name: rsa_name.clone(),
            alg: AsymmetricEncryption::RsaOaep { hash_alg: Hash::Sha256 },
            plaintext: Zeroizing::new(b"x".to_vec()),
            salt: None,
        })),
        ResponseStatus::PsaErrorNotPermitted,
    );

    let pss = AsymmetricSignature::RsaPss { hash_alg: SignHash::Specific(Hash::Sha256) };
    let pss_attrs = attributes(Type::RsaKeyPair, 2048, U_SIGN, Algorithm::AsymmetricSignature(pss));
    r.check(
        "PsaGenerateKey: RSA 2048 PSS SHA-256",
        svc.call(crypto_provider, NativeOperation::PsaGenerateKey(psa_generate_key::Operation { key_name: pss_name.clone(), attributes: pss_attrs })).is_ok(),
    );
    match svc.call(crypto_provider, NativeOperation::PsaSignHash(psa_sign_hash::Operation { key_name: pss_name.clone(), alg: pss, hash: hash.clone() })) {
        Ok(NativeResult::PsaSignHash(res)) => {
            r.check_eq("PsaSignHash: RSA-PSS signature is 256 bytes", res.signature.len(), 256);
            r.check(
                "PsaVerifyHash: RSA-PSS signature verifies",
                svc.call(crypto_provider, NativeOperation::PsaVerifyHash(psa_verify_hash::Operation {
                    key_name: pss_name.clone(),
                    alg: pss,
                    hash: hash.clone(),
                    signature: res.signature.clone(),
                })).is_ok(),
            );
        }
        other => {
            println!("# PsaSignHash PSS: {:?}", other.map(|x| x.opcode()));
            r.check("PsaSignHash: RSA-PSS signature is 256 bytes", false);
        }
    }

    // --- messages signed by the service: it hashes (PSS key made with sign_hash only)
    let msg = Zeroizing::new(b"conformance message".to_vec());
    match svc.call(crypto_provider, NativeOperation::PsaSignMessage(psa_sign_message::Operation { key_name: pss_name.clone(), alg: pss, message: msg.clone() })) {
        Ok(NativeResult::PsaSignMessage(res)) => {
            r.check_eq("PsaSignMessage: RSA-PSS signature is 256 bytes", res.signature.len(), 256);
            r.check(
                "PsaVerifyMessage: the signature verifies",
                svc.call(crypto_provider, NativeOperation::PsaVerifyMessage(psa_verify_message::Operation {
                    key_name: pss_name.clone(),
                    alg: pss,
                    message: msg.clone(),
                    signature: res.signature.clone(),
                })).is_ok(),
            );
            expect_status(
                &mut r,
                "PsaVerifyMessage: another message is PsaErrorInvalidSignature",
                svc.call(crypto_provider, NativeOperation::PsaVerifyMessage(psa_verify_message::Operation {
                    key_name: pss_name.clone(),
                    alg: pss,
                    message: Zeroizing::new(b"another message".to_vec()),
                    signature: res.signature.clone(),
                })),
                ResponseStatus::PsaErrorInvalidSignature,
            );
        }
        other => {
            println!("# PsaSignMessage: {:?}", other.map(|x| x.opcode()));
            r.check("PsaSignMessage: RSA-PSS signature is 256 bytes", false);
        }
    }

    // --- AES-256-GCM
    let aes_name = "conformance-aes".to_string();
    let _ = svc.call(crypto_provider, NativeOperation::PsaDestroyKey(psa_destroy_key::Operation { key_name: aes_name.clone() }));
    let gcm = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm);
    let aes_attrs = attributes(Type::Aes, 256, U_ENCRYPT | U_DECRYPT, Algorithm::Aead(gcm));
    r.check(
        "PsaGenerateKey: AES-256 for GCM",
        svc.call(crypto_provider, NativeOperation::PsaGenerateKey(psa_generate_key::Operation { key_name: aes_name.clone(), attributes: aes_attrs })).is_ok(),
    );
    let nonce = Zeroizing::new(pattern(12, 9));
    let ad = Zeroizing::new(b"header".to_vec());
    let aead_dec = |ct: Vec<u8>| {
        NativeOperation::PsaAeadDecrypt(psa_aead_decrypt::Operation {
            key_name: aes_name.clone(),
            alg: gcm,
            nonce: nonce.clone(),
            additional_data: ad.clone(),
            ciphertext: Zeroizing::new(ct),
        })
    };
    match svc.call(crypto_provider, NativeOperation::PsaAeadEncrypt(psa_aead_encrypt::Operation {
        key_name: aes_name.clone(),
        alg: gcm,
        nonce: nonce.clone(),
        additional_data: ad.clone(),
        plaintext: Zeroizing::new(b"conformance".to_vec()),
    })) {
        Ok(NativeResult::PsaAeadEncrypt(res)) => {
            let ct = res.ciphertext.to_vec();
            r.check_eq("PsaAeadEncrypt: ciphertext is the plaintext plus a 16-byte tag", ct.len(), 11 + 16);
            match svc.call(crypto_provider, aead_dec(ct.clone())) {
                Ok(NativeResult::PsaAeadDecrypt(res)) => {
                    r.check_eq("PsaAeadDecrypt: round trip", res.plaintext.to_vec(), b"conformance".to_vec());
                }
                other => {
                    println!("# PsaAeadDecrypt: {:?}", other.map(|x| x.opcode()));
                    r.check("PsaAeadDecrypt: round trip", false);
                }
            }
            let mut bad = ct;
            let last = bad.len() - 1;
            bad[last] ^= 1;
            expect_status(&mut r, "PsaAeadDecrypt: altered tag is PsaErrorInvalidSignature", svc.call(crypto_provider, aead_dec(bad)), ResponseStatus::PsaErrorInvalidSignature);
        }
        other => {
            println!("# PsaAeadEncrypt: {:?}", other.map(|x| x.opcode()));
            r.check("PsaAeadEncrypt: ciphertext is the plaintext plus a 16-byte tag", false);
        }
    }
    // --- AES-CTR with the service's IV: IV || ciphertext (parsec-interface psa_cipher_*)
    let ctr_name = "conformance-ctr".to_string();
    let _ = svc.call(crypto_provider, NativeOperation::PsaDestroyKey(psa_destroy_key::Operation { key_name: ctr_name.clone() }));
    r.check(
        "PsaGenerateKey: AES-128 for CTR",
        svc.call(crypto_provider, NativeOperation::PsaGenerateKey(psa_generate_key::Operation {
            key_name: ctr_name.clone(),
            attributes: attributes(Type::Aes, 128, U_ENCRYPT | U_DECRYPT, Algorithm::Cipher(Cipher::Ctr)),
        })).is_ok(),
    );
    match svc.call(crypto_provider, NativeOperation::PsaCipherEncrypt(psa_cipher_encrypt::Operation {
        key_name: ctr_name.clone(),
        alg: Cipher::Ctr,
        plaintext: Zeroizing::new(b"conformance".to_vec()),
    })) {
        Ok(NativeResult::PsaCipherEncrypt(res)) => {
            let ct = res.ciphertext.to_vec();
            r.check_eq("PsaCipherEncrypt: a 16-byte IV, then the ciphertext", ct.len(), 16 + 11);
            match svc.call(crypto_provider, NativeOperation::PsaCipherDecrypt(psa_cipher_decrypt::Operation {
                key_name: ctr_name.clone(),
                alg: Cipher::Ctr,
                ciphertext: Zeroizing::new(ct),
            })) {
                Ok(NativeResult::PsaCipherDecrypt(res)) => {
                    r.check_eq("PsaCipherDecrypt: round trip", res.plaintext.to_vec(), b"conformance".to_vec());
                }
                other => {
                    println!("# PsaCipherDecrypt: {:?}", other.map(|x| x.opcode()));
                    r.check("PsaCipherDecrypt: round trip", false);
                }
            }
        }
        other => {
            println!("# PsaCipherEncrypt: {:?}", other.map(|x| x.opcode()));
            r.check("PsaCipherEncrypt: a 16-byte IV, then the ciphertext", false);
        }
    }
    let _ = svc.call(crypto_provider, NativeOperation::PsaDestroyKey(psa_destroy_key::Operation { key_name: ctr_name.clone() }));
    r.check(
        "PsaDestroyKey: the AES key",
        svc.call(crypto_provider, NativeOperation::PsaDestroyKey(psa_destroy_key::Operation { key_name: aes_name.clone() })).is_ok(),
    );

    // --- the reference's answers pinned by test/parity
    expect_status(
        &mut r,
        "PsaGenerateKey of an RSA public key: PsaErrorInvalidArgument",
        svc.call(crypto_provider, NativeOperation::PsaGenerateKey(psa_generate_key::Operation {
            key_name: "conformance-pub".into(),
            attributes: attributes(Type::RsaPublicKey, 2048, U_VERIFY_HASH, Algorithm::AsymmetricSignature(pss)),
        })),
        ResponseStatus::PsaErrorInvalidArgument,
    );
    expect_status(
        &mut r,
        "CanDoCrypto Use without usage flags: PsaErrorNotSupported",
        svc.call(crypto_provider, NativeOperation::CanDoCrypto(can_do_crypto::Operation {
            check_type: can_do_crypto::CheckType::Use,
            attributes: attributes(Type::RsaKeyPair, 2048, 0, Algorithm::AsymmetricSignature(pss)),
        })),
        ResponseStatus::PsaErrorNotSupported,
    );

    // --- random
    match svc.call(crypto_provider, NativeOperation::PsaGenerateRandom(psa_generate_random::Operation { size: 48 })) {
        Ok(NativeResult::PsaGenerateRandom(res)) => {
            r.check_eq("PsaGenerateRandom: 48 bytes", res.random_bytes.len(), 48);
        }
        other => {
            println!("# PsaGenerateRandom: {:?}", other.map(|x| x.opcode()));
            r.check("PsaGenerateRandom: 48 bytes", false);
        }
    }

    // --- clients (the harness makes this application an administrator)
    let me = match &svc.auth {
        Auth::Direct(name) => name.clone(),
        _ => unsafe { libc::getuid() }.to_string(),
    };
    match svc.call(ProviderId::Core, NativeOperation::ListClients(list_clients::Operation {})) {
        Ok(NativeResult::ListClients(res)) => {
            r.check(&format!("ListClients: lists this application ({})", me), res.clients.contains(&me));
        }
        other => {
            println!("# ListClients: {:?}", other.map(|x| x.opcode()));
            r.check(&format!("ListClients: lists this application ({})", me), false);
        }
    }
    r.check(
        "DeleteClient: a client without keys is Success",
        svc.call(ProviderId::Core, NativeOperation::DeleteClient(delete_client::Operation { client: "nobody-here".into() })).is_ok(),
    );
    expect_status(
        &mut r,
        "ListClients without authentication: NotAuthenticated",
        svc.call_as(&Auth::None, ProviderId::Core, NativeOperation::ListClients(list_clients::Operation {})),
        ResponseStatus::NotAuthenticated,
    );

    // --- cleanup
    for name in [&ec_name, &rsa_name, &pss_name].iter() {
        r.check(
            &format!("PsaDestroyKey: {}", name),
            svc.call(crypto_provider, NativeOperation::PsaDestroyKey(psa_destroy_key::Operation { key_name: name.to_string() })).is_ok(),
        );
    }
    expect_status(
        &mut r,
        "PsaDestroyKey again: PsaErrorDoesNotExist",
        svc.call(crypto_provider, NativeOperation::PsaDestroyKey(psa_destroy_key::Operation { key_name: ec_name.clone() })),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    if let Ok(NativeResult::ListKeys(res)) = svc.call(ProviderId::Core, NativeOperation::ListKeys(list_keys::Operation {})) {
        r.check("ListKeys: destroyed keys are gone", !res.keys.iter().any(|k| k.name.starts_with("conformance-")));
    } else {
        r.check("ListKeys: destroyed keys are gone", false);
    }

    // --- malformed headers: answered from a default header (opcode Ping, provider Core)
    let cases: [(&str, Vec<u8>, ResponseStatus); 3] = [
        ("bad magic", raw_header(0x5EC0_A711, 30, 1, 0, 0, 1, 0), ResponseStatus::InvalidHeader),
        ("wire version 2.0", raw_header(0x5EC0_A710, 30, 2, 0, 0, 1, 0), ResponseStatus::WireProtocolVersionNotSupported),
        ("reserved byte set", raw_header(0x5EC0_A710, 30, 1, 0, 0, 1, 1), ResponseStatus::InvalidHeader),
    ];
    for (what, bytes, want) in cases.iter() {
        match svc.raw_exchange(bytes) {
            Ok(resp) => {
                r.check_eq(&format!("raw request with {}: status", what), resp.header.status, *want);
                r.check_eq(&format!("raw request with {}: default header (Ping, Core)", what), (resp.header.opcode, resp.header.provider), (Opcode::Ping, ProviderId::Core));
            }
            Err(e) => {
                println!("# {}", e);
                r.check(&format!("raw request with {}: status", what), false);
            }
        }
    }
    match svc.raw_exchange(&raw_header(0x5EC0_A710, 30, 1, 0, 9, 1, 0)) {
        Ok(resp) => {
            r.check_eq("raw request with provider 9: ProviderDoesNotExist", resp.header.status, ResponseStatus::ProviderDoesNotExist);
        }
        Err(e) => {
            println!("# {}", e);
            r.check("raw request with provider 9: ProviderDoesNotExist", false);
        }
    }
    match svc.raw_exchange(&raw_header(0x5EC0_A710, 30, 1, 0, 0, 0x16, 0)) {
        Ok(resp) => {
            r.check_eq("raw request with opcode 0x16: OpcodeDoesNotExist", resp.header.status, ResponseStatus::OpcodeDoesNotExist);
        }
        Err(e) => {
            println!("# {}", e);
            r.check("raw request with opcode 0x16: OpcodeDoesNotExist", false);
        }
    }
    r
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let report = match args.get(1).map(|s| s.as_str()) {
        Some("parse") if args.len() == 3 => parse_captures(Path::new(&args[2])),
        Some("service") if args.len() == 4 => {
            let (auth, expect) = if let Some(app) = args[3].strip_prefix("direct:") {
                (Auth::Direct(app.to_string()), AuthType::Direct)
            } else if args[3] == "unix" {
                (Auth::Unix, AuthType::UnixPeerCredentials)
            } else {
                eprintln!("unknown authentication {}", args[3]);
                std::process::exit(2);
            };
            drive_service(&Service { socket: args[2].clone(), auth }, expect)
        }
        _ => {
            eprintln!("usage: parsec-conformance parse DIR | service SOCKET direct:APP|unix");
            std::process::exit(2);
        }
    };
    println!("# {} passed, {} failed", report.passed, report.failed);
    std::process::exit(if report.failed == 0 { 0 } else { 1 });
}
