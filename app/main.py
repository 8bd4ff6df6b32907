"""``panel serve app``: one page per session, on the model named by $RNNSCOPE_MODEL
(serve.py --model) or the shipped default checkpoint; or, when $RNNSCOPE_LSTMVIS names an LSTMVis
directory (serve.py --lstmvis), on its states."""
import os

from rnnscope.app.pages.lstmvis.lstmvis_state import LSTMVIS_ENV

if os.environ.get(LSTMVIS_ENV):
    from rnnscope.app.pages.lstmvis.lstmvis_page import lstmvis_template
    lstmvis_template(os.environ[LSTMVIS_ENV]).servable(title="rnnscope")
else:
    from rnnscope.app.pages.page import Page
    Page().template().servable(title="rnnscope")
