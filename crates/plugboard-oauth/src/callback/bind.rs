//! Binding the callback's port on every loopback address the host has, as the caller's
//! [`PortChoice`] asks: a preferred port may fall back to a free one, a pinned one may not.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpListener;

use super::{CallbackError, PortChoice};

/// A free IPv4 port can be taken on `::1`; this many tries at finding one free on both.
const FREE_PORT_ATTEMPTS: usize = 8;

/// `EAFNOSUPPORT`: the host has no IPv6. std maps it to no `io::ErrorKind` of its own.
#[cfg(any(target_os = "linux", target_os = "android"))]
const EAFNOSUPPORT: i32 = 97;
#[cfg(windows)]
const EAFNOSUPPORT: i32 = 10047;
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
const EAFNOSUPPORT: i32 = 47;

/// Listeners for `choice`, and whether the preferred port was taken so another one is used.
pub(super) async fn bind(choice: PortChoice) -> Result<(Bound, bool), CallbackError> {
    let bound = match choice {
        PortChoice::Preferred(0) | PortChoice::Pinned(0) => (bind_free_port().await?, false),
        PortChoice::Pinned(port) => match bind_loopback(port).await {
            Ok(bound) => (bound, false),
            Err(BindFailure::InUse) => return Err(CallbackError::PortInUse { port }),
            Err(BindFailure::Other(e)) => return Err(e),
        },
        PortChoice::Preferred(port) => match bind_loopback(port).await {
            Ok(bound) => (bound, false),
            Err(BindFailure::InUse) => (bind_free_port().await?, true),
            Err(BindFailure::Other(e)) => return Err(e),
        },
    };
    Ok(bound)
}

/// Listeners on one port, on every loopback address the host has.
pub(super) struct Bound {
    pub(super) port: u16,
    pub(super) listeners: Vec<TcpListener>,
}

enum BindFailure {
    InUse,
    Other(CallbackError),
}

/// Binds `127.0.0.1:port` and `[::1]:` the same port. A host without IPv6 is fine; `::1` taken
/// is not, because a browser resolving `localhost` to `::1` would reach whoever holds it.
async fn bind_loopback(port: u16) -> Result<Bound, BindFailure> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v4_listener = TcpListener::bind(v4)
        .await
        .map_err(|e| bind_failure(v4, e))?;
    let port = v4_listener
        .local_addr()
        .map_err(|source| BindFailure::Other(CallbackError::Bind { addr: v4, source }))?
        .port();
    let mut listeners = vec![v4_listener];
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match TcpListener::bind(v6).await {
        Ok(listener) => listeners.push(listener),
        Err(e) if no_ipv6(&e) => {}
        Err(e) => return Err(bind_failure(v6, e)),
    }
    Ok(Bound { port, listeners })
}

async fn bind_free_port() -> Result<Bound, CallbackError> {
    for _ in 0..FREE_PORT_ATTEMPTS {
        match bind_loopback(0).await {
            Ok(bound) => return Ok(bound),
            Err(BindFailure::InUse) => continue,
            Err(BindFailure::Other(e)) => return Err(e),
        }
    }
    Err(CallbackError::NoFreePort)
}

fn bind_failure(addr: SocketAddr, source: io::Error) -> BindFailure {
    if source.kind() == io::ErrorKind::AddrInUse {
        BindFailure::InUse
    } else {
        BindFailure::Other(CallbackError::Bind { addr, source })
    }
}

fn no_ipv6(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::Unsupported
    ) || e.raw_os_error() == Some(EAFNOSUPPORT)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener as StdListener;

    use super::super::test_support::*;
    use super::super::{CallbackServer, PortChoice};
    use super::*;

    #[tokio::test]
    async fn an_occupied_preferred_port_falls_back_to_a_free_one() {
        let holder = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = holder.local_addr().unwrap().port();
        let mut server = CallbackServer::start(config(PortChoice::Preferred(taken)))
            .await
            .unwrap();
        assert!(server.fell_back());
        assert_ne!(server.port(), taken);
        assert_eq!(server.redirect_uri().port(), Some(server.port()));
        assert_real_callback_completes(&mut server, "c").await;
    }

    #[tokio::test]
    async fn a_free_preferred_port_is_used_as_is() {
        let port = {
            let probe = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            probe.local_addr().unwrap().port()
        };
        // The probe's port is free again unless another process grabbed it in between; only
        // then would this fall back, which the assertion message makes plain.
        let server = CallbackServer::start(config(PortChoice::Preferred(port)))
            .await
            .unwrap();
        assert!(
            !server.fell_back() && server.port() == port,
            "port {port} was taken by someone else"
        );
    }

    #[test]
    fn a_bind_error_names_the_address_and_leaves_the_cause_to_its_source() {
        let err = CallbackError::Bind {
            addr: (Ipv4Addr::LOCALHOST, 80).into(),
            source: io::ErrorKind::PermissionDenied.into(),
        };
        assert_eq!(
            err.to_string(),
            "cannot listen on 127.0.0.1:80 for the sign-in callback"
        );
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("permission denied"));
    }

    #[tokio::test]
    async fn an_occupied_pinned_port_is_an_error_naming_the_port() {
        let holder = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = holder.local_addr().unwrap().port();
        let err = CallbackServer::start(config(PortChoice::Pinned(taken)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallbackError::PortInUse { port } if port == taken),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("port {taken} on localhost is in use")
        );
    }

    #[tokio::test]
    async fn a_port_taken_on_ipv6_loopback_counts_as_taken() {
        let Ok(holder) = StdListener::bind((Ipv6Addr::LOCALHOST, 0)) else {
            return; // No IPv6 on this host: nothing to take.
        };
        let taken = holder.local_addr().unwrap().port();
        let err = CallbackServer::start(config(PortChoice::Pinned(taken)))
            .await
            .unwrap_err();
        assert!(matches!(err, CallbackError::PortInUse { port } if port == taken));
        let server = CallbackServer::start(config(PortChoice::Preferred(taken)))
            .await
            .unwrap();
        assert!(server.fell_back());
    }

    #[tokio::test]
    async fn pinned_zero_takes_any_free_port_without_falling_back() {
        let server = any_port().await;
        assert_ne!(server.port(), 0);
        assert!(!server.fell_back());
        assert_eq!(
            server.redirect_uri().as_str(),
            format!("http://localhost:{}{PATH}", server.port())
        );
    }

    #[test]
    fn a_host_without_ipv6_is_told_apart_from_a_taken_port() {
        let cases = [
            (io::Error::from_raw_os_error(EAFNOSUPPORT), true),
            (io::ErrorKind::AddrNotAvailable.into(), true),
            (io::ErrorKind::Unsupported.into(), true),
            (io::ErrorKind::AddrInUse.into(), false),
            (io::ErrorKind::PermissionDenied.into(), false),
        ];
        for (error, missing) in cases {
            assert_eq!(no_ipv6(&error), missing, "{error:?}");
            let in_use = matches!(
                bind_failure(SocketAddr::from((Ipv6Addr::LOCALHOST, 1)), error),
                BindFailure::InUse
            );
            assert!(!(missing && in_use));
        }
    }
}
