"""The rnnscope page (``panel serve app``) and its standalone HTML export."""
