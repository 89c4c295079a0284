"""Text descriptions of the synthetic corpus's facial expressions (guidance data for stage 4).

Each :class:`Description` says in a user's words what a face looks like, and what it means in the
corpus's terms: a mix of :data:`medtalk_core.rig.EMOTIONS` (weights summing to 1) and a degree, the
expression's intensity relative to the corpus's full prototype. The phrasings follow the FACS
prototypes of :data:`train.corpus.face.PROTOTYPES` (Ekman & Friesen action units): happy raises the
cheeks and pulls the mouth corners up (AU6+12); sad lifts the inner brows, drops the mouth corners
and pushes the chin up (AU1+4+15+17); angry lowers and draws the brows together, presses the lids
and the lips (AU4+5+7+23+24); disgust wrinkles the nose and lifts the upper lip (AU9+10);
fear lifts and draws the brows together, widens the eyes and stretches the mouth sideways
(AU1+2+4+5+20); surprise raises the whole brow, widens the eyes and drops the jaw (AU1+2+5+26);
neutral is the rest pose.

Degrees: about 0.4 slight, 0.7 mild, 1.0 clear, 1.3 strong, 1.5 extreme.

A few phrasings per emotion are held out for evaluation (:func:`split`).
"""

from __future__ import annotations

from dataclasses import dataclass

from medtalk_core.rig import EMOTIONS

MAX_DEGREE = 1.5
"""Largest degree: 1.5 times the corpus's full-intensity prototype."""
HOLDOUT_EVERY = 3
"""Every 3rd phrasing of an emotion (in :data:`DESCRIPTIONS` order) is held out for testing."""


@dataclass(frozen=True)
class Description:
    """One phrasing of an expression.

    Attributes:
        text: what a user would type, e.g. ``"a broad smile with raised cheeks"``.
        mix: emotion -> weight, weights in (0, 1] summing to 1, one emotion strictly dominant.
        degree: intensity relative to the corpus prototype, in (0, :data:`MAX_DEGREE`].

    Raises:
        ValueError: unknown emotion, weights not summing to 1, no single dominant emotion,
            degree out of range.
    """

    text: str
    mix: dict[str, float]
    degree: float

    def __post_init__(self):
        unknown = set(self.mix) - set(EMOTIONS)
        if unknown or not self.mix:
            raise ValueError(f"{self.text!r}: unknown emotions {sorted(unknown)} in mix")
        weights = sorted(self.mix.values(), reverse=True)
        if min(weights) <= 0 or abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"{self.text!r}: mix weights must be positive and sum to 1")
        if len(weights) > 1 and weights[0] == weights[1]:
            raise ValueError(f"{self.text!r}: mix needs one dominant emotion")
        if not 0.0 < self.degree <= MAX_DEGREE:
            raise ValueError(f"{self.text!r}: degree {self.degree} outside (0, {MAX_DEGREE}]")

    @property
    def dominant(self) -> str:
        """The emotion with the largest weight."""
        return max(self.mix, key=self.mix.get)


def _one(emotion: str, degree: float, *texts: str) -> list[Description]:
    return [Description(t, {emotion: 1.0}, degree) for t in texts]


def _mix(text: str, degree: float, **weights: float) -> Description:
    return Description(text, weights, degree)


DESCRIPTIONS: tuple[Description, ...] = (
    # ------------------------------------------------------------------ happy (AU6+12)
    *_one("happy", 1.0,
          "a broad smile with raised cheeks",
          "happy: the mouth corners pulled up and the eyes crinkling",
          "a warm, genuine smile that reaches the eyes"),
    *_one("happy", 0.4,
          "a slight smile, the corners of the mouth just turned up",
          "faintly pleased, a hint of a smile"),
    *_one("happy", 0.7,
          "a friendly, cheerful expression with a soft smile"),
    *_one("happy", 1.3,
          "beaming with joy, cheeks pushed up and dimples showing",
          "a huge grin, eyes squeezed into happy crescents"),
    *_one("happy", 1.5,
          "laughing delight, the widest possible smile"),
    *_one("happy", 1.0,
          "a contented, joyful face with smiling eyes"),
    _mix("happy with a hint of surprise", 1.0, happy=0.75, surprise=0.25),
    _mix("a bittersweet smile, mostly happy but a little sad", 0.8, happy=0.6, sad=0.4),
    _mix("smiling but slightly nervous", 0.7, happy=0.7, fear=0.3),
    # ------------------------------------------------------------------ sad (AU1+4+15+17)
    *_one("sad", 1.0,
          "sad: inner brows raised, mouth corners pulled down",
          "a sorrowful face with a trembling chin and drooping mouth",
          "downcast eyes and a frown of unhappiness"),
    *_one("sad", 0.4,
          "a little sad, the mouth corners dipping slightly"),
    *_one("sad", 0.7,
          "wistful and melancholy, eyes looking down",
          "disappointed, with heavy lids and a small frown"),
    *_one("sad", 1.3,
          "deeply sad, close to tears, the chin wrinkled and pushed up",
          "grief-stricken, brows tilted up in the middle"),
    *_one("sad", 1.5,
          "heartbroken and weeping, the mouth pulled far down"),
    _mix("sad, close to tears, but a little angry", 1.2, sad=0.7, angry=0.3),
    _mix("gloomy and anxious, sadness with some worry", 0.9, sad=0.65, fear=0.35),
    _mix("a tired, mostly blank face with a trace of sadness", 0.6, sad=0.6, neutral=0.4),
    # ------------------------------------------------------------------ angry (AU4+5+7+23+24)
    *_one("angry", 1.0,
          "brows pulled together and down, lips pressed",
          "an angry glare with narrowed eyes and a tight mouth",
          "a hard scowl, the jaw set and lips thin"),
    *_one("angry", 0.4,
          "slightly annoyed, a small frown between the brows"),
    *_one("angry", 0.7,
          "irritated and stern, brows lowered"),
    *_one("angry", 1.3,
          "furious, brows knitted hard and eyes burning",
          "enraged, lips pressed white and nostrils flared"),
    *_one("angry", 1.5,
          "livid with rage, the whole face clenched"),
    _mix("angry with a touch of disgust, nose slightly wrinkled", 1.1, angry=0.7, disgust=0.3),
    _mix("indignant, angry and a bit shocked", 1.0, angry=0.65, surprise=0.35),
    _mix("bitter resentment, angry but hurt", 0.9, angry=0.6, sad=0.4),
    # ------------------------------------------------------------------ disgust (AU9+10)
    *_one("disgust", 1.0,
          "a wrinkled nose and a raised upper lip",
          "disgusted, as if smelling something rotten",
          "a sneer of revulsion, the upper lip curled"),
    *_one("disgust", 0.4,
          "mild distaste, the nose crinkling a little"),
    *_one("disgust", 0.7,
          "put off and displeased, the lip lifting on one side",
          "an expression of dislike, squinting with the nose wrinkled"),
    *_one("disgust", 1.3,
          "strongly repulsed, nose scrunched and lip pulled high"),
    *_one("disgust", 1.5,
          "utterly revolted, gagging at the sight"),
    _mix("disgusted and angry, a contemptuous snarl", 1.2, disgust=0.6, angry=0.4),
    _mix("appalled, disgust mixed with shock", 1.1, disgust=0.6, surprise=0.4),
    _mix("queasy and uneasy, disgust with a little fear", 0.8, disgust=0.7, fear=0.3),
    # ------------------------------------------------------------------ fear (AU1+2+4+5+20)
    *_one("fear", 1.0,
          "frightened: eyes wide, brows raised and drawn together",
          "a scared face with the mouth stretched sideways",
          "terror in wide staring eyes and a tense neck"),
    *_one("fear", 0.4,
          "slightly nervous, eyes a bit wider than usual"),
    *_one("fear", 0.7,
          "worried and apprehensive, brows lifted in the middle",
          "anxious and tense, lips pulled back"),
    *_one("fear", 1.3,
          "terrified, the whites of the eyes showing"),
    *_one("fear", 1.5,
          "panic-stricken horror, the mouth stretched wide"),
    _mix("a fearful, surprised look", 1.1, fear=0.6, surprise=0.4),
    _mix("worried, almost sad", 0.8, fear=0.6, sad=0.4),
    _mix("cornered and scared but getting angry", 1.0, fear=0.65, angry=0.35),
    # ------------------------------------------------------------------ surprise (AU1+2+5+26)
    *_one("surprise", 1.0,
          "surprised: eyebrows raised high, eyes wide open, jaw dropped",
          "an astonished face with a slightly open mouth",
          "raised brows and round eyes, caught off guard"),
    *_one("surprise", 0.4,
          "mildly surprised, the brows lifting a little"),
    *_one("surprise", 0.7,
          "curious and intrigued, eyebrows up"),
    *_one("surprise", 1.3,
          "amazed, brows shooting up and mouth falling open",
          "stunned disbelief, eyes wide and staring"),
    *_one("surprise", 1.5,
          "utterly astounded, jaw hanging open"),
    _mix("surprised and delighted", 1.1, surprise=0.6, happy=0.4),
    _mix("shocked, with a flash of fear", 1.2, surprise=0.65, fear=0.35),
    _mix("taken aback, mostly surprised but displeased", 0.9, surprise=0.7, disgust=0.3),
    # ------------------------------------------------------------------ neutral (rest pose)
    *_one("neutral", 1.0,
          "a neutral face with relaxed brows and a closed, resting mouth",
          "expressionless and calm",
          "a blank, composed look",
          "no particular emotion, the face at rest",
          "a poker face, giving nothing away",
          "relaxed and impassive, eyes steady",
          "matter-of-fact and even, without expression",
          "a still, placid face"),
    _mix("mostly calm with a faint smile", 1.0, neutral=0.7, happy=0.3),
    _mix("composed, with a trace of worry", 1.0, neutral=0.7, fear=0.3),
    _mix("a flat face, a little bored and glum", 1.0, neutral=0.75, sad=0.25),
)
"""Every phrasing, grouped by dominant emotion (for each, at least 8: single emotions at several
degrees, then mixes)."""


def for_emotion(emotion: str) -> list[Description]:
    """The descriptions whose dominant emotion is ``emotion``, in :data:`DESCRIPTIONS` order.

    Raises:
        ValueError: ``emotion`` is not one of ``rig.EMOTIONS``.
    """
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}")
    return [d for d in DESCRIPTIONS if d.dominant == emotion]


def split(description: Description) -> str:
    """``"test"`` for every :data:`HOLDOUT_EVERY`-th phrasing of its dominant emotion, else
    ``"train"`` (deterministic: depends only on the order of :data:`DESCRIPTIONS`)."""
    position = for_emotion(description.dominant).index(description)
    return "test" if position % HOLDOUT_EVERY == HOLDOUT_EVERY - 1 else "train"


def describe(emotion: str, degree: float, index: int = 0) -> Description:
    """A single-emotion training phrasing of ``emotion`` whose degree is nearest ``degree``.

    ``index`` picks among the equally near ones (``index % count``), for variety across clips.
    """
    pool = [d for d in for_emotion(emotion) if len(d.mix) == 1 and split(d) == "train"]
    best = min(abs(d.degree - degree) for d in pool)
    nearest = [d for d in pool if abs(d.degree - degree) == best]
    return nearest[index % len(nearest)]
