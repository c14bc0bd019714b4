"""layerlapse"""
