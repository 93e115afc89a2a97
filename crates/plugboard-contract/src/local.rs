//! `local-writes-no-secret`: a credential of kind `none` means "a local service that needs no
//! secret", so exactly the local methods (kind `local`) write one. A local method that stores a
//! key stores something nobody gave it; any other method that stores `none` has signed the user
//! in to nothing, and every later call would go out without a credential.

use plugboard_core::{AuthKind, AuthMethod, AuthResult};

use crate::report::Report;
use crate::rules::LOCAL_WRITES_NO_SECRET;

/// Checks what a successful run of `method` (`case`, as reports name it) asks the host to
/// store.
pub(crate) fn check_written(
    method: &dyn AuthMethod,
    result: &AuthResult,
    case: &str,
    name: &str,
    report: &mut Report,
) {
    let local = method.kind() == AuthKind::Local;
    for write in &result.profiles {
        let credential = &write.credential;
        let message = match (local, credential.has_secret()) {
            (true, true) => format!(
                "{case}: a local method wrote a credential of kind {} to {}: a local service needs no secret, so write Credential::none, with where the service is in its provenance",
                credential.kind(),
                write.profile_id
            ),
            (false, false) => format!(
                "{case}: a method of kind {} wrote a credential of kind none to {}: only a local method (AuthKind::Local) stores no secret, so store what the sign-in obtained, or make the method local",
                method.kind(),
                write.profile_id
            ),
            _ => continue,
        };
        report.fail(LOCAL_WRITES_NO_SECRET, name, message);
    }
}
