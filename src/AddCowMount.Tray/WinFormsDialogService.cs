using AddCowMount.Tray.Core.Mounts;
using AddCowMount.Tray.Core.Platform;

namespace AddCowMount.Tray;

/// <summary>The dialogs, built in code (no designer files). Validation lives in Tray.Core.</summary>
internal sealed class WinFormsDialogService : IDialogService
{
    private const string ImageFilter = "add-cow images (*.add-cow)|*.add-cow|All files (*.*)|*.*";

    /// <summary>An image handed over by a second launch, used once as the mount dialog's image.</summary>
    public string? PendingImage { get; set; }

    public MountRequest? AskMount(MountDialogState state)
    {
        string? image = state.Image ?? PendingImage;
        PendingImage = null;
        using var form = new DialogForm("Mount image");
        TextBox imageBox = form.AddFileRow("Image", image, () => PickOpenFile(ImageFilter));
        ComboBox pointBox = form.AddComboRow("Drive letter or empty folder", state.MountPoint, FreeLetters(state.MountPoint));
        CheckBox readOnly = form.AddCheck("Read-only (the overlay is not changed)", state.ReadOnly);
        form.AddError(state.Error);
        return form.ShowAndWait() ? new MountRequest(imageBox.Text, pointBox.Text, readOnly.Checked) : null;
    }

    public CreateOverlayRequest? AskCreateOverlay(CreateOverlayDialogState state)
    {
        using var form = new DialogForm("Create overlay");
        TextBox backing = form.AddFileRow("Base image (read-only, shared)", state.Backing, () => PickOpenFile("Disk images|*.img;*.raw;*.add-cow|All files (*.*)|*.*"));
        TextBox overlay = form.AddFileRow("Overlay (.add-cow)", state.Overlay, () => PickSaveFile("add-cow images (*.add-cow)|*.add-cow", ".add-cow"));
        TextBox imageFile = form.AddFileRow("Overlay's image file (holds the changes)", state.ImageFile, () => PickSaveFile("Raw images (*.img)|*.img", ".img"));
        form.AddError(state.Error);
        return form.ShowAndWait() ? new CreateOverlayRequest(backing.Text, imageFile.Text, overlay.Text) : null;
    }

    public ExitChoice AskExit(string message, bool canUnmount)
    {
        var keep = new TaskDialogButton("Exit, keep disks mounted");
        var unmount = new TaskDialogButton("Unmount all and exit") { Enabled = canUnmount };
        var page = new TaskDialogPage
        {
            Caption = "AddCowMount",
            Heading = "Disks are still mounted",
            Text = message,
            Icon = canUnmount ? TaskDialogIcon.Information : TaskDialogIcon.Warning,
            Buttons = { unmount, keep, TaskDialogButton.Cancel },
            DefaultButton = TaskDialogButton.Cancel,
        };
        TaskDialogButton result = TaskDialog.ShowDialog(page);
        return result == keep ? ExitChoice.KeepMounted : result == unmount ? ExitChoice.UnmountAllAndExit : ExitChoice.Cancel;
    }

    public bool Confirm(string title, string message) =>
        MessageBox.Show(message, title, MessageBoxButtons.YesNo, MessageBoxIcon.Question) == DialogResult.Yes;

    public string? PickFolder(string title, string? initialFolder)
    {
        using var dialog = new FolderBrowserDialog { Description = title, UseDescriptionForTitle = true, SelectedPath = initialFolder ?? "" };
        return dialog.ShowDialog() == DialogResult.OK ? dialog.SelectedPath : null;
    }

    private static string? PickOpenFile(string filter)
    {
        using var dialog = new OpenFileDialog { Filter = filter, CheckFileExists = true };
        return dialog.ShowDialog() == DialogResult.OK ? dialog.FileName : null;
    }

    private static string? PickSaveFile(string filter, string extension)
    {
        using var dialog = new SaveFileDialog { Filter = filter, DefaultExt = extension, OverwritePrompt = false };
        return dialog.ShowDialog() == DialogResult.OK ? dialog.FileName : null;
    }

    private static string[] FreeLetters(string current)
    {
        HashSet<char> used = DriveInfo.GetDrives().Select(d => char.ToUpperInvariant(d.Name[0])).ToHashSet();
        var letters = new List<string>();
        for (char c = 'Z'; c >= 'D'; c--)
        {
            if (!used.Contains(c))
            {
                letters.Add($"{c}:");
            }
        }

        if (!string.IsNullOrEmpty(current) && !letters.Contains(current))
        {
            letters.Insert(0, current);
        }

        return [.. letters];
    }

    /// <summary>A small label-over-field form with OK/Cancel.</summary>
    private sealed class DialogForm : Form
    {
        private readonly TableLayoutPanel _layout;

        public DialogForm(string title)
        {
            Text = title;
            FormBorderStyle = FormBorderStyle.FixedDialog;
            MaximizeBox = false;
            MinimizeBox = false;
            StartPosition = FormStartPosition.CenterScreen;
            TopMost = true;
            AutoSize = true;
            AutoSizeMode = AutoSizeMode.GrowAndShrink;
            Padding = new Padding(12);
            _layout = new TableLayoutPanel { ColumnCount = 2, AutoSize = true, Dock = DockStyle.Fill };
            _layout.ColumnStyles.Add(new ColumnStyle(SizeType.Absolute, 420));
            _layout.ColumnStyles.Add(new ColumnStyle(SizeType.AutoSize));
            Controls.Add(_layout);
        }

        public TextBox AddFileRow(string label, string? value, Func<string?> browse)
        {
            AddLabel(label);
            var box = new TextBox { Text = value ?? "", Dock = DockStyle.Fill };
            var button = new Button { Text = "Browse…", AutoSize = true };
            button.Click += (_, _) =>
            {
                if (browse() is { } picked)
                {
                    box.Text = picked;
                }
            };
            _layout.Controls.Add(box);
            _layout.Controls.Add(button);
            return box;
        }

        public ComboBox AddComboRow(string label, string value, string[] choices)
        {
            AddLabel(label);
            var combo = new ComboBox { Dock = DockStyle.Fill, DropDownStyle = ComboBoxStyle.DropDown };
            combo.Items.AddRange(choices);
            combo.Text = value;
            _layout.Controls.Add(combo);
            _layout.SetColumnSpan(combo, 2);
            return combo;
        }

        public CheckBox AddCheck(string text, bool value)
        {
            var check = new CheckBox { Text = text, Checked = value, AutoSize = true };
            _layout.Controls.Add(check);
            _layout.SetColumnSpan(check, 2);
            return check;
        }

        public void AddError(string? error)
        {
            if (error is null)
            {
                return;
            }

            var label = new Label { Text = error, ForeColor = Color.Firebrick, AutoSize = true, MaximumSize = new Size(520, 0) };
            _layout.Controls.Add(label);
            _layout.SetColumnSpan(label, 2);
        }

        public bool ShowAndWait()
        {
            var ok = new Button { Text = "OK", DialogResult = DialogResult.OK, AutoSize = true };
            var cancel = new Button { Text = "Cancel", DialogResult = DialogResult.Cancel, AutoSize = true };
            var buttons = new FlowLayoutPanel { FlowDirection = FlowDirection.RightToLeft, AutoSize = true, Dock = DockStyle.Fill };
            buttons.Controls.Add(cancel);
            buttons.Controls.Add(ok);
            _layout.Controls.Add(buttons);
            _layout.SetColumnSpan(buttons, 2);
            AcceptButton = ok;
            CancelButton = cancel;
            return ShowDialog() == DialogResult.OK;
        }

        private void AddLabel(string text)
        {
            var label = new Label { Text = text, AutoSize = true, Margin = new Padding(0, 8, 0, 2) };
            _layout.Controls.Add(label);
            _layout.SetColumnSpan(label, 2);
        }
    }
}
