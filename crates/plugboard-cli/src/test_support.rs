//! What the commands' unit tests share: the [`Provider`](plugboard_core::Provider) side of
//! their fake providers, which only the capability under test sets apart.

/// Implements `Provider` for a unit test's fake type with an `id: &'static str` field: the id
/// is also its label, it has no sign-in methods, and the `Provider` methods written inside the
/// braces (the capability under test, such as `model_lister`) are added as they are. A macro,
/// not a generic wrapper, so each test keeps building its fake as a plain struct.
macro_rules! fake_provider {
    ($fake:ty { $($capability:tt)* }) => {
        impl plugboard_core::Provider for $fake {
            fn id(&self) -> &str {
                self.id
            }
            fn label(&self) -> &str {
                self.id
            }
            fn docs_path(&self) -> &str {
                "/providers/fake"
            }
            fn auth_methods(&self) -> &[Box<dyn plugboard_core::AuthMethod>] {
                &[]
            }
            $($capability)*
        }
    };
}

pub(crate) use fake_provider;
