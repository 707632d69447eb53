// The Latchkey Android library as a standalone Gradle build (it can also be included from an app's
// settings.gradle.kts with includeBuild("path/to/latchkey/android")). Not buildable on the project's CI
// machines (no Android SDK or Gradle there): see README.md for what is checked and how.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "latchkey-android"
include(":testing")
project(":testing").projectDir = file("testing")
