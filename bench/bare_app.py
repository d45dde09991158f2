"""The baseline for bench/live_poll.py: the least a Flask app can do, answer 204, under the same gunicorn."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def no_content():
    return "", 204
