// One Wine prefix serves the whole run and the MSI and tray tests change it (install, uninstall, a running tray):
// the tests run one after another.
[assembly: DoNotParallelize]
