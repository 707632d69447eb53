// com.latchkey:latchkey-android-testing — helpers to develop against the simulator: a BleTransport over its
// HTTP radio, its manager API (set up partners, doors, read one-time codes), a JVM signer. For tests,
// samples and emulator builds of an app (the simulator on the host is http://10.0.2.2:8787); never ship
// it in a release build.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "com.latchkey.sdk.testing"
    compileSdk = 35
    defaultConfig { minSdk = 26 }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin { jvmToolchain(17) }

dependencies {
    api(project(":"))
    // org.json is part of Android; JVM tests need the jar.
    testImplementation("org.json:json:20250517")
}
