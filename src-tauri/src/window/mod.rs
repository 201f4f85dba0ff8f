//! The window, in its own process. The long-lived process (engine, tray, notifications)
//! never creates a web view: opening the window starts `delegate-app --window`
//! ([`process`]), which hosts the web view and talks to the long-lived process's [`host`]
//! over the window channel ([`protocol`]): the same commands and events as the web view
//! uses, unchanged. Closing the window ends that process and every WebKit process with it,
//! so a person who opened the window once does not carry WebKit for the rest of the day.

pub mod host;
pub mod process;
pub mod protocol;
