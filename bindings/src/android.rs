//! The JNI entry point of `Latchkey.initialize(context)` (android/src/main/kotlin/com/latchkey/sdk/android/
//! Latchkey.kt): hands the JVM and the app's context to the platform certificate verifier, which calls
//! Android's `X509TrustManager` through them at each HTTPS handshake, then tells the core it may make that
//! verifier (`latchkey::api::android_verifier_initialized`). Before it, HTTPS requests fail with
//! `LatchkeyError.TlsSetup(ANDROID_NOT_INITIALIZED)`.
//!
//! It is compiled wherever a JVM may load this library (not on Apple platforms), so the JVM tests call it for real:
//! everything but the hand-over to the verifier, which exists only in Android builds, runs the same there. A
//! failure (a JNI error, a panic) reaches Kotlin as a `RuntimeException`, never a crash.

use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JClassLoader, JObject};
use jni::{EnvUnowned, jni_mangle, jni_sig, jni_str};

/// `private external fun nativeInitialize(context: Context)` of `com.latchkey.sdk.android.Latchkey`.
#[jni_mangle("com.latchkey.sdk.android.Latchkey")]
pub fn native_initialize<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    unowned_env
        .with_env(|env| -> jni::errors::Result<()> {
            if context.is_null() {
                return Err(jni::errors::Error::NullPtr("Latchkey.initialize needs a Context"));
            }
            // What rustls_platform_verifier::android::init_with_env does, spelled out so that it runs (and is
            // tested) on the JVM too: the context's class loader finds the verifier's Kotlin class later, from
            // threads the JVM did not start.
            let loader = env
                .call_method(&context, jni_str!("getClassLoader"), jni_sig!(() -> JClassLoader), &[])?
                .l()?;
            let loader = env.cast_local::<JClassLoader>(loader)?;
            let java_vm = env.get_java_vm()?;
            let context = env.new_global_ref(context)?;
            let loader = env.new_global_ref(loader)?;
            hand_over(java_vm, context, loader);
            Ok(())
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}

/// Gives the verifier the JVM, the context and its class loader (the first call wins; later ones are no-ops).
#[cfg(target_os = "android")]
fn hand_over(
    java_vm: jni::JavaVM,
    context: jni::objects::Global<JObject<'static>>,
    loader: jni::objects::Global<JClassLoader<'static>>,
) {
    rustls_platform_verifier::android::init_with_refs(java_vm, context, loader);
    latchkey::api::android_verifier_initialized();
}

/// Off Android the certificate verifier needs no JVM: the references are checked and dropped.
#[cfg(not(target_os = "android"))]
fn hand_over(
    _java_vm: jni::JavaVM,
    _context: jni::objects::Global<JObject<'static>>,
    _loader: jni::objects::Global<JClassLoader<'static>>,
) {
}
