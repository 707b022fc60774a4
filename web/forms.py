from django import forms

from grading.services import Upload
from grading.uploads import unsafe_names_message


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class SubmitForm(forms.Form):
    """Paste code or upload files (not both). Size, encoding and rules are checked by the service."""

    code = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 18,
                "spellcheck": "false",
                "autocomplete": "off",  # no browser restore on reload: static/js/assignment.js keeps drafts
                "data-editor": "python",
                "aria-describedby": "code-help",
            }
        ),
        label="Your code",
    )
    files = MultipleFileField(required=False, label="…or upload files")

    def __init__(
        self, *args, untouched: tuple[str, ...] = (), unsafe_names: list[str] | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.untouched = {text.strip() for text in untouched}
        self.unsafe_names = unsafe_names or []

    def clean(self):
        data = super().clean()
        if self.unsafe_names:
            self.add_error("files", unsafe_names_message(self.unsafe_names))
        code = data.get("code", "")
        # The editor opens with the latest attempt's code or the starter code (``untouched``):
        # uploading files without changing it is fine.
        if data.get("files") and code.strip() and code.strip() not in self.untouched:
            raise forms.ValidationError("Either paste code or upload files, not both.")
        return data

    def uploads(self, main_file: str) -> list[Upload]:
        if self.cleaned_data.get("files"):  # files win over untouched starter code
            return [Upload(f.name, f.read()) for f in self.cleaned_data["files"]]
        code = self.cleaned_data.get("code", "")
        return [Upload(main_file, code.encode("utf-8"))] if code.strip() else []


def row_id(value) -> int | None:
    """A row id posted by a form button; anything else matches no row (a clear no-op, never a 500)."""
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 19 else None
