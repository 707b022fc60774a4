"""Forms instructors use to author assignments, tests (one form per test kind) and rubric items.

The forms only collect and shape input; courses/authoring.py saves it with the models' own
validation (TestCase.clean checks a test's spec with the sandbox's schema), so the site, the
admin and the REST API accept exactly the same things."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from courses.assignments import AUTHORED_FIELDS, free_slug, save_assignment
from courses.models import Assignment, Course, Equality, RubricItem, TestCase, TestKind
from sandbox.schema import Compare

NUMBER_RULE = (
    "An expected integer must match exactly (3.0 matches 3, but 1e20 does not match "
    "100000000000000000001); the tolerance applies only where the expected value is a float, "
    "unless “Tolerance on integers too” is ticked."
)

# The form's code boxes and the model's files they fill (the main file's text).
CODE_FIELDS = {"starter_code": "starter_files", "reference_code": "reference_files"}
CODE = {"spellcheck": "false", "data-editor": "python", "autocapitalize": "off"}
MAX_PYTEST_UPLOAD = 1_000_000


class CourseForm(forms.ModelForm):
    """A course's title and description; its code (in every URL) is set once, at creation."""

    class Meta:
        model = Course
        fields = ["code", "title", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True
            self.fields["code"].help_text = "Fixed: it is in every link to the course."


class LocalDateTimeInput(forms.DateTimeInput):
    """A browser date-time picker; the value means the reader's time zone (TimezoneMiddleware)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class AssignmentForm(forms.ModelForm):
    """An assignment's settings; the starter and reference code are its main file's text."""

    starter_code = forms.CharField(
        required=False,
        strip=False,
        label="Starter code",
        help_text="What the editor opens with; also offered as a download.",
        widget=forms.Textarea(attrs={**CODE, "rows": 10}),
    )
    reference_code = forms.CharField(
        required=False,
        strip=False,
        label="Reference solution",
        help_text="Never shown to students; “Check against the reference solution” runs the tests on it.",
        widget=forms.Textarea(attrs={**CODE, "rows": 12}),
    )

    class Meta:
        model = Assignment
        # The code boxes after the module name, as the page shows them (the error list follows this order).
        at = AUTHORED_FIELDS.index("module_name") + 1
        fields = [*AUTHORED_FIELDS[:at], "starter_code", "reference_code", *AUTHORED_FIELDS[at:]]
        widgets = {
            "statement": forms.Textarea(attrs={"rows": 10}),
            "setup_code": forms.Textarea(attrs={**CODE, "rows": 5}),
            "setup_scope": forms.RadioSelect,
            "equality": forms.RadioSelect,
            "deadline": LocalDateTimeInput(),
            "hard_deadline": LocalDateTimeInput(),
        }
        labels = {
            "module_name": "Module name",
            "setup_code": "Setup snippet",
            "setup_scope": "The setup snippet runs in",
            "equality": "Expression tests compare values",
            "memory_mb": "Memory (MB)",
            "cpus": "CPUs",
            "pids_limit": "Processes",
            "wall_seconds": "Time for the whole submission (s)",
            "llm_hints": "Model hints",
            "hint_candidates": "Hints to choose from",
            "count_broken_attempts": "Code that does not run counts as an attempt",
            "hint_critic": "Critic ranks the hints",
            "show_hidden_details": "Show hidden tests' details to students",
            "min_seconds_between_attempts": "Seconds between attempts",
        }
        help_texts = {
            "statement": "Markdown. Raw HTML is removed.",
            "slug": "Used in URLs; cannot change once students have submitted. "
            "Left empty, it is made from the title.",
            "module_name": "Students submit this name with .py (solution → solution.py); tests import it.",
            "setup_code": "Fixtures, imports or data such as sample_data = (...). Where it runs is chosen below.",
            "equality": NUMBER_RULE + " A test may choose its own comparison.",
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        for name in ("deadline", "hard_deadline"):
            self.fields[name].help_text = f"Your local time ({zone})."
        main = self.instance.main_file
        self.fields["starter_code"].initial = self.instance.starter_code
        self.fields["reference_code"].initial = self.instance.reference_files.get(main, "")
        if self.instance.pk and self.instance.submissions.exists():
            # Students' attempts, URLs and the gradebook refer to the slug and module.
            for name in ("slug", "module_name"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixed: students have already submitted."
        for name in ("setup_scope", "equality", "hint_candidates"):
            self.fields[name].required = False  # left out of a post: the current choice stays
        self.fields["slug"].required = False  # empty: made from the title (clean_slug)

    def clean_hint_candidates(self):
        value = self.cleaned_data.get("hint_candidates")
        return self.instance.hint_candidates if value is None else value

    def clean_setup_scope(self):
        return self.cleaned_data.get("setup_scope") or self.instance.setup_scope

    def clean_equality(self):
        return self.cleaned_data.get("equality") or self.instance.equality

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        title = self.cleaned_data.get("title", "")
        if not slug:
            slug = free_slug(self.instance.course, title, exclude_pk=self.instance.pk)
            if not slug:
                raise forms.ValidationError(
                    "Give a slug: the title has no letters or digits to make one from."
                    if title
                    else "Give a slug, or a title to make one from."
                )
        return slug  # the other rules (a leading "-", unique in the course) are Assignment.clean's

    def _post_clean(self):
        # The code boxes become the model's files before the model's own validation runs
        # (Assignment.clean, the rules the REST API applies too), so it checks them as well.
        main = self.instance.main_file
        for field, files in CODE_FIELDS.items():
            texts = dict(getattr(self.instance, files) or {})
            if self.cleaned_data.get(field, "").strip():
                texts[main] = self.cleaned_data[field]
            else:
                texts.pop(main, None)
            setattr(self.instance, files, texts)
        super()._post_clean()

    def _update_errors(self, errors):
        # The model speaks of its files; the form shows the problem under the code box.
        if hasattr(errors, "error_dict"):
            names = {files: field for field, files in CODE_FIELDS.items()}
            errors = ValidationError({names.get(k, k): v for k, v in errors.error_dict.items()})
        super()._update_errors(errors)

    def save(self, commit=True):
        assignment = super().save(commit=False)
        return save_assignment(assignment) if commit else assignment


class TestForm(forms.Form):
    """What every test has; subclasses add their kind's fields and build the sandbox spec."""

    kind: str = ""
    name = forms.CharField(max_length=200)
    visible = forms.BooleanField(
        required=False,
        initial=True,
        label="Visible to students",
        help_text="Hidden tests show students only their name and result.",
    )
    points = forms.DecimalField(min_value=0, max_digits=7, decimal_places=2, initial=1)
    time_limit = forms.FloatField(min_value=0.1, max_value=600, initial=10, label="Time limit (s)")

    spec_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_test(cls, test: TestCase, **kwargs):
        initial = {
            "name": test.name,
            "visible": test.visible,
            "points": test.points,
            "time_limit": test.time_limit,
        }
        initial.update({k: v for k, v in test.spec.items() if k in cls.spec_fields})
        return cls(initial=initial, **kwargs)

    def spec(self) -> dict:
        """The test's spec with only what was set (an unticked box is the schema's default)."""
        data = self.cleaned_data
        return {k: data[k] for k in self.spec_fields if data.get(k) is not None and data.get(k) is not False}


class IOTestForm(TestForm):
    kind = TestKind.IO
    spec_fields = ("stdin", "stdout", "compare", "rel_tol", "abs_tol", "int_tolerance")
    stdin = forms.CharField(
        required=False, strip=False, label="Input (stdin)", widget=forms.Textarea(attrs={"rows": 4})
    )
    stdout = forms.CharField(
        required=False,
        strip=False,
        label="Expected output (stdout)",
        help_text="Empty: the program must print nothing.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    compare = forms.ChoiceField(
        choices=[
            (Compare.EXACT.value, "Exactly"),
            (Compare.TRAILING.value, "Ignoring trailing whitespace"),
            (Compare.WHITESPACE.value, "Ignoring all whitespace"),
            (Compare.NUMERIC.value, "Numbers, with a tolerance"),
            (Compare.REGEX.value, "Matching a regular expression (the expected output)"),
        ],
        initial=Compare.TRAILING.value,
        label="Compare the output",
    )
    rel_tol = forms.FloatField(
        min_value=0,
        required=False,
        label="Relative tolerance",
        help_text="Numeric comparison only. " + NUMBER_RULE,
    )
    abs_tol = forms.FloatField(
        min_value=0, required=False, label="Absolute tolerance", help_text="Numeric comparison only."
    )
    int_tolerance = forms.BooleanField(required=False, label="Tolerance on integers too")


class ExprTestForm(TestForm):
    kind = TestKind.EXPR
    spec_fields = ("expr", "expected", "rel_tol", "abs_tol", "int_tolerance", "equality")
    expr = forms.CharField(
        label="Expression",
        help_text="Evaluated with the student's module imported, e.g. search(42, (-5, 1, 3, 5, 7, 10)).",
        widget=forms.Textarea(attrs={**CODE, "rows": 2}),
    )
    expected = forms.CharField(
        label="Expected value",
        help_text="A Python literal, e.g. 4, 'abc', [1, 2] or None.",
        widget=forms.Textarea(attrs={**CODE, "rows": 2}),
    )
    rel_tol = forms.FloatField(
        min_value=0, required=False, label="Relative tolerance", help_text="For floats. " + NUMBER_RULE
    )
    abs_tol = forms.FloatField(
        min_value=0, required=False, label="Absolute tolerance", help_text="For floats."
    )
    int_tolerance = forms.BooleanField(required=False, label="Tolerance on integers too")
    equality = forms.TypedChoiceField(
        choices=[("", "As the assignment says"), *Equality.choices],
        required=False,
        empty_value=None,
        label="Compare values",
    )


class PytestTestForm(TestForm):
    kind = TestKind.PYTEST
    spec_fields = ("source",)
    upload = forms.FileField(
        required=False,
        label="Upload a pytest file",
        help_text="A .py file; it replaces the text below.",
        widget=forms.ClearableFileInput(attrs={"accept": ".py,text/x-python"}),
    )
    source = forms.CharField(
        required=False,
        strip=False,
        label="…or write the pytest file",
        help_text="Import the student's module by its module name; every test function counts.",
        widget=forms.Textarea(attrs={**CODE, "rows": 14}),
    )

    def clean(self):
        data = super().clean()
        upload = data.get("upload")
        if upload:
            if upload.size > MAX_PYTEST_UPLOAD:
                self.add_error("upload", f"The file is larger than {MAX_PYTEST_UPLOAD // 1000} KB.")
                return data
            try:
                data["source"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("upload", "The file is not UTF-8 text.")
                return data
        if not data.get("source", "").strip():
            self.add_error("source", "Upload a pytest file or write one.")
        return data


TEST_FORMS: dict[str, type[TestForm]] = {f.kind: f for f in (IOTestForm, ExprTestForm, PytestTestForm)}


class RubricItemForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    class Meta:
        model = RubricItem
        fields = ["name", "description", "max_points"]
        labels = {"max_points": "Points"}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
