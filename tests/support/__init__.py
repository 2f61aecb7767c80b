"""What the test folders share: helpers by topic, and the fixture functions that more than one folder needs
(each folder's conftest.py imports the ones it uses, which registers them there). No test module imports another
test module or a conftest; they import from here."""
