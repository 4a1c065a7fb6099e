"""A step classifier that also reads the student's surprise at each token of the solution.

A tiny reward model does not learn to redo arithmetic from a few thousand incorrect rollouts
(README, experiments table: within-question AUC 0.49-0.58 whatever the recipe), but the
student it starts from already does the arithmetic: a slipped digit is a token the student
itself found unlikely. So this model keeps a frozen copy of the student beside the token
classifier, and raises the logit of "incorrect" at each position by `alpha` times the largest
gated surprisal, -log p(token), of any solution token so far. The gate, a linear map of the
classifier's own hidden state, learns from the outcome or step labels which tokens' surprise
is evidence (a computed digit) and which is not (a rare wording). Causal like the classifier:
the score of step i sees the tokens of steps 1..i only.

Saved as the classifier's own folder plus `student/` and `surprisal_head.safetensors`;
`load_step_classifier` reads either kind. `reward.surprisal: false` trains the paper's plain
token classifier instead.
"""

from __future__ import annotations

from pathlib import Path

import torch

from factory import from_pretrained

HEAD_FILE = "surprisal_head.safetensors"
STUDENT_DIR = "student"
# the gate and alpha start from nothing while the body starts from the student: they learn
# GAIN times faster at the trainer's one learning rate (Adam's step is scale-free)
GAIN = 10.0


class SurprisalStepClassifier(torch.nn.Module):
    def __init__(self, classifier, student) -> None:
        super().__init__()
        self.classifier, self.student = classifier, student
        self.config = classifier.config
        student.requires_grad_(False)
        self.gate = torch.nn.Linear(classifier.config.hidden_size, 1)
        torch.nn.init.zeros_(self.gate.weight)
        torch.nn.init.zeros_(self.gate.bias)
        self.alpha = torch.nn.Parameter(torch.tensor(1.0 / GAIN))

    @property
    def device(self) -> torch.device:
        return self.alpha.device

    def forward(self, input_ids, attention_mask=None, completion_start=None, labels=None, **_):
        from transformers.modeling_outputs import TokenClassifierOutput

        out = self.classifier(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        with torch.no_grad():
            log_probs = self.student(input_ids=input_ids, attention_mask=attention_mask).logits.float().log_softmax(-1)
        surprisal = torch.zeros(input_ids.shape, device=input_ids.device)
        # the token at position t is predicted at position t - 1
        surprisal[:, 1:] = -log_probs[:, :-1].gather(-1, input_ids[:, 1:, None])[..., 0]
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :]
        if completion_start is not None:
            surprisal = surprisal.masked_fill(positions < completion_start[:, None], 0.0)
        gate = torch.sigmoid(GAIN * self.gate(out.hidden_states[-1].float()))[..., 0]
        evidence = torch.cummax(gate * surprisal, dim=1).values
        logits = out.logits.float()
        logits = torch.stack([logits[..., 0] + GAIN * self.alpha * evidence, logits[..., 1]], -1)
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits.view(-1, 2), labels.view(-1), ignore_index=-100)
        return TokenClassifierOutput(loss=loss, logits=logits)

    def save_pretrained(self, folder: str | Path, **kwargs) -> None:
        from safetensors.torch import save_file

        folder = Path(folder)
        self.classifier.save_pretrained(folder, **kwargs)
        self.student.save_pretrained(folder / STUDENT_DIR, **kwargs)
        head = {f"gate.{name}": value for name, value in self.gate.state_dict().items()}
        save_file({**head, "alpha": self.alpha.detach().reshape(1)},
                  str(folder / HEAD_FILE))

    @classmethod
    def from_student(cls, student_path: str | Path, **classifier_kwargs) -> SurprisalStepClassifier:
        from transformers import AutoModelForCausalLM, AutoModelForTokenClassification

        classifier = from_pretrained(AutoModelForTokenClassification, student_path, **classifier_kwargs)
        return cls(classifier, from_pretrained(AutoModelForCausalLM, student_path).eval())


def load_step_classifier(path: str | Path, what: str = "a step classifier"):
    """A saved step classifier: a plain token classifier, or one that reads surprisal."""
    from transformers import AutoModelForCausalLM, AutoModelForTokenClassification

    classifier = from_pretrained(AutoModelForTokenClassification, path, what=what)
    head_file = Path(path) / HEAD_FILE
    if not head_file.is_file():
        return classifier
    from safetensors.torch import load_file

    model = SurprisalStepClassifier(
        classifier, from_pretrained(AutoModelForCausalLM, Path(path) / STUDENT_DIR, what=f"{what}'s student"))
    head = load_file(str(head_file))
    model.gate.load_state_dict({"weight": head["gate.weight"], "bias": head["gate.bias"]})
    with torch.no_grad():
        model.alpha.copy_(head["alpha"][0])
    return model
