"""``panel serve app``: one page per session, on the model named by $RNNSCOPE_MODEL
(serve.py --model) or the shipped default checkpoint."""
from app.page import Page

Page().template().servable(title="rnnscope")
