#pragma once
// The compute device, chosen in Run → Compute Device and shown at the right of the status
// bar: one checkable action per backend of qb::core::BackendRegistry ("cpu", "cuda:0", …);
// choosing one makes it the registry's preferred backend for the jobs that start afterwards
// (a running job keeps the device it started on, layer by layer).

class QMenu;
class QStatusBar;

namespace qb::ui {

/// Adds the "Compute Device" submenu to menu and a permanent "Device: …" label (object name
/// "deviceLabel") to bar, both reflecting BackendRegistry::preferred().
void installDeviceChoice(QMenu* menu, QStatusBar* bar);

}  // namespace qb::ui
