# Additions to Django's Tamil formats (django/conf/locale/ta), which group thousands only
# and have no date-and-time formats: numbers as in India (1,00,000), dates day first, and a
# 24-hour clock (Django's catalogs write AM and PM alike in Hindi, and not at all in Tamil).
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F, Y, H:i"
SHORT_DATETIME_FORMAT = "j M, Y, H:i"
NUMBER_GROUPING = (3, 2, 0)
